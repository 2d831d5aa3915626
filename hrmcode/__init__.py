"""hrmcode: hierarchical reasoning models (HRM) for code generation in six languages."""

# The languages register themselves (hrmcode/languages/<name>.py) with the records, which validate
# every record's ``language`` against them: so any reader of records sees every language.
from hrmcode import languages as languages

__version__ = "0.1.0"
