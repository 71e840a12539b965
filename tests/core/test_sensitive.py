import pytest

from core.sensitive import find_sensitive, luhn_valid, mask_sensitive


def test_luhn():
    assert luhn_valid("4111111111111111")
    assert luhn_valid("5500005555555559")
    assert not luhn_valid("4111111111111112")
    assert not luhn_valid("")
    assert not luhn_valid("41a1")


def test_card_numbers_masked_keeping_last_four():
    result = mask_sensitive("Pay with 4111 1111 1111 1111 today")
    assert result.text == "Pay with •••• •••• •••• 1111 today"
    assert [(f.kind, f.value) for f in result.findings] == [("card", "4111 1111 1111 1111")]
    assert result.findings[0].start == 9


def test_luhn_invalid_numbers_and_phone_numbers_are_kept():
    text = "Order 4111111111111112 and call 0049 30 1234567"
    assert mask_sensitive(text).text == text


def test_keys_and_tokens():
    text = (
        "aws AKIAIOSFODNN7EXAMPLE openai sk-proj-abcdefghijklmnopqrstuv12 "
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U "
        "gh ghp_abcdefghijklmnopqrstuvwxyz0123456789 blob aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Q9PT0K1x"
    )
    kinds = [f.kind for f in find_sensitive(text)]
    assert kinds == ["aws_key", "api_key", "jwt", "api_key", "token"]
    masked = mask_sensitive(text).text
    assert "IOSFODNN7EXAMPLE" not in masked and "abcdefghijklmnop" not in masked and "dozjgNry" not in masked


def test_ordinary_words_paths_and_commit_ids_are_not_tokens():
    text = "internationalization-of-things /usr/share/tesseract-ocr/5/tessdata commit 3f786850e387550fdab836ed7e6dc881de23001b"
    assert mask_sensitive(text).text == text


def test_text_after_password_labels():
    result = mask_sensitive("login: bob password: hunter2 PIN 4821 and Passcode = 9z9z")
    assert "hunter2" not in result.text and "4821" not in result.text and "9z9z" not in result.text
    assert {f.kind for f in result.findings} == {"password"}
    assert [f.value for f in result.findings] == ["hunter2", "4821", "9z9z"]
    # A label with no value after it ("the Password field") masks nothing.
    assert mask_sensitive("Use the Password field").text == "Use the Password field"


def test_spans_point_into_the_original_text():
    text = "x password: s3cret y 4111-1111-1111-1111"
    for finding in find_sensitive(text):
        assert text[finding.start : finding.end] == finding.value


def test_finding_repr_never_shows_the_secret():
    finding = find_sensitive("password: hunter2")[0]
    assert "hunter2" not in repr(finding)


@pytest.mark.parametrize(
    "ocr_text",
    ["passwo: hunter2", "Passw0rd: hunter2", "pa55word = hunter2", "Pasword: hunter2", "PASSWORT: hunter2",
     "pwd: hunter2", "mot de passe : hunter2", "password hunter2x9"],
)
def test_password_labels_damaged_by_ocr_still_mask_the_value(ocr_text):
    result = mask_sensitive(ocr_text)
    assert "hunter2" not in result.text
    assert result.findings and result.findings[0].kind == "password"


@pytest.mark.parametrize("text", ["Passport number renewal due", "the pass was scenic", "Compass: north"])
def test_ordinary_words_near_pass_are_left_alone(text):
    assert mask_sensitive(text).text == text
