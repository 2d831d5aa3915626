from hrmcode.languages import LANGUAGES, parse_type


def test_every_language_renders_every_type():
    values = {"int": -7, "bool": True, "str": 'a"b\\c\nü', "list[int]": [1, -2], "list[str]": ["x", ""],
              "list[bool]": [False]}
    for lang in LANGUAGES.values():
        for t, v in values.items():
            assert lang.literal(v, parse_type(t))
            assert lang.literal(v, parse_type(t), param=True)
        assert lang.starter("sum_of_digits", [("n", parse_type("int"))], parse_type("int"))


def test_identifiers_follow_each_language_convention():
    names = {lang: LANGUAGES[lang].ident("sum_of_digits") for lang in LANGUAGES}
    assert names == {"python": "sum_of_digits", "javascript": "sumOfDigits", "java": "sumOfDigits",
                     "cpp": "sum_of_digits", "go": "sumOfDigits", "rust": "sum_of_digits"}


def test_rust_borrows_parameters():
    rust = LANGUAGES["rust"]
    sig = rust.signature("f", [("xs", parse_type("list[int]")), ("s", parse_type("str"))], parse_type("list[str]"))
    assert sig == "fn f(xs: &[i64], s: &str) -> Vec<String> {"
