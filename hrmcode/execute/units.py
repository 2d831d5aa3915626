"""The candidate records of typed-function programs live with the language files that render them
(hrmcode.languages.units); these names are kept importable from here."""

from hrmcode.languages.units import INPUTS_FILE, INT64_MAX, INT64_MIN, FunctionUnit, encode_tests, inputs_file

__all__ = ["INPUTS_FILE", "INT64_MAX", "INT64_MIN", "FunctionUnit", "encode_tests", "inputs_file"]
