"""The one secret detector (core.secrets): what it finds, its labels and spans, and how masks look."""

import json

import pytest

from core.resources import read_text
from core.secrets import (
    SHORT_MASK,
    find_secrets,
    iban_valid,
    luhn_valid,
    mask,
    mask_text,
    redact_meta,
    shield_observation,
)


def test_luhn_and_iban_checksums():
    assert luhn_valid("4111111111111111") and luhn_valid("5500005555555559")
    assert not luhn_valid("4111111111111112") and not luhn_valid("") and not luhn_valid("41a1")
    assert iban_valid("DE89370400440532013000") and iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("DE89370400440532013001") and not iban_valid("DE8937040044053201300")  # checksum, length


@pytest.mark.parametrize("value", ["1234", "Hunter2", "abcdefghi", "4821#"])
def test_short_values_show_nothing_not_even_their_length(value):
    assert mask(value) == SHORT_MASK


def test_longer_values_show_at_most_their_last_two_characters_and_no_spaces():
    assert mask("Hunter2Zq9x") == "••••••••9x"
    assert mask("DE89 3704 0044 0532 0130 00") == "••••••••00"
    assert mask("4111 1111 1111 1111") == "••••••••11"
    assert mask("") == "" and mask(None) == ""
    for value in ("1234", "Hunter2Zq9x", "DE89 3704 0044 0532 0130 00"):
        assert mask(mask(value)) == mask(value)


def test_the_issue_example_gets_labels_not_surrounding_text():
    text = "my password is Hunter2Zq9x and my IBAN is DE89370400440532013000"
    result = mask_text(text)
    assert [(s.kind, s.label, s.value) for s in result.secrets] == [
        ("password", "password", "Hunter2Zq9x"),
        ("iban", "IBAN", "DE89370400440532013000"),
    ]
    assert result.text == "my password is ••••••••9x and my IBAN is ••••••••00"
    for secret in result.secrets:
        assert text[secret.start : secret.end] == secret.value


@pytest.mark.parametrize(
    "text, kind, label, value",
    [
        # English
        ("my password is Hunter2Zq9x.", "password", "password", "Hunter2Zq9x"),
        ("password: X9kz!pq", "password", "password", "X9kz!pq"),
        ("pw hunter22", "password", "pw", "hunter22"),
        ("The office wifi password is Zebra42!x.", "password", "office wifi password", "Zebra42!x"),
        ("the wifi password is 'correct horse battery'", "password", "wifi password", "correct horse battery"),
        ("the passcode is 7788", "password", "passcode", "7788"),
        ("my passphrase: tulip-river-93", "password", "passphrase", "tulip-river-93"),
        ("the password for gmail is Abc123xyz", "password", "password for gmail", "Abc123xyz"),
        ("PIN 1234", "pin", "PIN", "1234"),
        ("the PIN is 4321", "pin", "PIN", "4321"),
        ("my bank PIN is 4321, thanks", "pin", "bank PIN", "4321"),
        ("Ada's card PIN: 9876", "pin", "Ada's card PIN", "9876"),
        ("the door code is 4821#.", "access_code", "door code", "4821#"),
        ("gate code: 1234*", "access_code", "gate code", "1234*"),
        ("the alarm code is 1-2-3-4", "access_code", "alarm code", "1-2-3-4"),
        ("the safe code is 5519", "access_code", "safe code", "5519"),
        ("Pay with 4111 1111 1111 1111 today", "card", "Visa card", "4111 1111 1111 1111"),
        ("my Mastercard 5500 0055 5555 5559 expires 12/27", "card", "Mastercard", "5500 0055 5555 5559"),
        ("IBAN: GB82 WEST 1234 5698 7654 32.", "iban", "IBAN", "GB82 WEST 1234 5698 7654 32"),
        ("my passport number is C01X00T47", "passport", "passport number", "C01X00T47"),
        ("SSN: 123-45-6789", "national_id", "SSN", "123-45-6789"),
        ("my API key is abcdef1234567890ghij", "api_key", "API key", "abcdef1234567890ghij"),
        ("aws AKIAIOSFODNN7EXAMPLE", "api_key", "AWS access key", "AKIAIOSFODNN7EXAMPLE"),
        ("key sk-proj-abcdefghijklmnopqrstuv12", "api_key", "OpenAI API key", "sk-proj-abcdefghijklmnopqrstuv12"),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "api_key", "GitHub token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        ("blob aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Q9PT0K1x", "token", "token", "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Q9PT0K1x"),
        # German
        ("mein Passwort ist Sonne123!", "password", "Passwort", "Sonne123!"),
        ("das Passwort lautet Xyz99abc", "password", "Passwort", "Xyz99abc"),
        ("das WLAN-Passwort ist geheim42", "password", "WLAN-Passwort", "geheim42"),
        ("Meine PIN ist 1234.", "pin", "PIN", "1234"),
        ("der Türcode 5678", "access_code", "Türcode", "5678"),
        ("Reisepassnummer: C4J9L2K71", "passport", "Reisepassnummer", "C4J9L2K71"),
        # French
        ("le mot de passe est Soleil2024", "password", "mot de passe", "Soleil2024"),
        ("mon code PIN est 1234", "pin", "code PIN", "1234"),
        ("le code de la porte est 4821B", "access_code", "code de la porte", "4821B"),
        # Spanish
        ("la contraseña es Perro55", "password", "contraseña", "Perro55"),
        ("la contraseña del wifi es Gato2024x", "password", "contraseña del wifi", "Gato2024x"),
        ("el código es 8899", "access_code", "código", "8899"),
        ("mi DNI es 12345678Z", "national_id", "DNI", "12345678Z"),
        # Portuguese
        ("a senha do wifi é Gato1234", "password", "senha do wifi", "Gato1234"),
        ("o código do portão é 2580", "access_code", "código do portão", "2580"),
        ("meu CPF: 123.456.789-09", "national_id", "CPF", "123.456.789-09"),
        # a label with a qualifier, and codes named by what they open
        ("the alarm code for the workshop is 66120", "access_code", "alarm code for the workshop", "66120"),
        ("PIN for the old Barclays credit card is 5061", "pin", "PIN for the old Barclays credit card", "5061"),
        ("the back gate opens with 1379", "access_code", "back gate code", "1379"),
        ("the storage cellar unlocks with 9902#", "access_code", "storage cellar code", "9902#"),
        ("Die Kellertür öffnet mit dem Code 4417", "access_code", "Kellertür code", "4417"),
        ("locker combination 12-30-07", "access_code", "locker combination", "12-30-07"),
        ("Wi-Fi at the boat: Harbour-Light-88", "password", "Wi-Fi at the boat", "Harbour-Light-88"),
        ("WLAN-Schlüssel: Kiefer7Wald", "password", "WLAN-Schlüssel", "Kiefer7Wald"),
        ("my museum membership number is 4471 2030 99", "membership", "museum membership number", "4471 2030 99"),
        ("customer number: KD-55012", "membership", "customer number", "KD-55012"),
        ("mi número de socio es 0042817", "membership", "número de socio", "0042817"),
        ("the key safe at the barn is 7154.", "access_code", "key safe at the barn code", "7154"),
        ("code d'accès de l'immeuble : 38A51", "access_code", "code d'accès de l'immeuble", "38A51"),
    ],
)
def test_finds_each_kind_with_its_label_and_exact_value(text, kind, label, value):
    [secret] = find_secrets(text)
    assert (secret.kind, secret.label, secret.value) == (kind, label, value)
    assert text[secret.start : secret.end] == value
    assert value not in mask_text(text).text


@pytest.mark.parametrize(
    "text",
    [
        "password reset link sent",
        "PIN-Code vergessen?",
        "Passwort vergessen?",
        "Mot de passe oublié ?",
        "¿Olvidaste tu contraseña?",
        "Esqueceu a senha?",
        "I forgot my password again",
        "my password is wrong",
        "Password: (required)",
        "Enter your password:",
        "Passwort: ********",
        "Use the Password field",
        "Passport number renewal due",
        "the pass was scenic",
        "Compass: north",
        "pin the tab to the window",
        "code 404 means not found",
        "the code is in main.py",
        "zip code: 10115",
        "Token expired",
        "version 2.5.1 released on 2026-05-02 at 10:30 for $12.99",
        "Order 4111111111111112 arrived",
        "Ref GB00 WEST 1234 5698 7654 32",
        "internationalization-of-things /usr/share/tesseract-ocr/5/tessdata",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "the door opens with a creak",
        "the season opens with 2 concerts",
        "the wifi is slow in the kitchen",
        "our wifi network is called Fjordhus",
        "my membership starts in 2027 and costs 45 a month",
        "I became a member in 2019",
        "the gym opens at 6:30 on weekdays",
        "the alarm is 110 dB loud",
        "the safe is 2 metres tall",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert find_secrets(text) == [] and mask_text(text).text == text


def test_model_names_from_the_catalog_are_not_secrets():
    catalog = json.loads(read_text("catalog.json"))
    for model in catalog["models"]:
        for text in (model["name"], model["file"], model.get("repo") or "", model["label"]):
            assert find_secrets(f"status bar: {text} loaded") == [], text


def test_values_end_at_their_natural_end_and_never_swallow_the_next_secret():
    text = "IBAN DE89 3704 0044 0532 0130 00 PIN 1234; card 4111 1111 1111 1111 5678 and pw: abc12 (new)"
    secrets = find_secrets(text)
    assert [(s.kind, s.value) for s in secrets] == [
        ("iban", "DE89 3704 0044 0532 0130 00"), ("pin", "1234"), ("card", "4111 1111 1111 1111"), ("password", "abc12"),
    ]
    assert mask_text(text).text == "IBAN ••••••••00 PIN ••••••••; card ••••••••11 5678 and pw: •••••••• (new)"


def test_a_value_is_masked_wherever_it_appears_again():
    text = "my password is Hunter2Zq9x; later I typed Hunter2Zq9x and xHunter2Zq9xy. PIN 1234, room 1234, 12345"
    assert mask_text(text).text == (
        "my password is ••••••••9x; later I typed ••••••••9x and x••••••••9xy. PIN ••••••••, room ••••••••, 12345"
    )


def test_a_label_is_never_a_neighbouring_value():
    text = "my password is hunter wifi and the wifi password: Qq12345"
    labels = [s.label for s in find_secrets(text)]
    assert labels == ["password", "wifi password"]


@pytest.mark.parametrize(
    "ocr_text",
    ["passwo: hunter2", "Passw0rd: hunter2", "pa55word = hunter2", "Pasword: hunter2", "PASSWORT: hunter2",
     "pwd: hunter2", "mot de passe : hunter2", "password hunter2x9"],
)
def test_password_labels_damaged_by_ocr_still_mask_the_value(ocr_text):
    result = mask_text(ocr_text)
    assert "hunter2" not in result.text and result.secrets[0].kind == "password"


def test_masking_twice_changes_nothing_more():
    text = "password: hunter2 PIN 4821, IBAN DE89370400440532013000 and sk-proj-abcdefghijklmnopqrstuv12"
    once = mask_text(text).text
    assert mask_text(once).text == once and find_secrets(once) == []


def test_secret_repr_never_shows_the_value():
    [secret] = find_secrets("password: hunter2")
    assert "hunter2" not in repr(secret)


def test_shield_keeps_values_only_when_asked():
    item = {"kind": "chat", "text": "my PIN is 4321", "role": "user", "meta": {"speaker": "Ada"}}
    kept = shield_observation(item, keep_values=True)
    assert kept["text"] == "my PIN is ••••••••"
    assert kept["meta"] == {"speaker": "Ada", "sensitive": ["pin"], "secrets": [{"kind": "pin", "label": "PIN", "value": "4321"}]}
    dropped = shield_observation(item, keep_values=False)
    assert dropped["text"] == "my PIN is ••••••••" and "secrets" not in dropped["meta"]
    assert item["text"] == "my PIN is 4321"  # the caller's dict is not changed
    assert redact_meta(kept["meta"])["secrets"] == [{"kind": "pin", "label": "PIN", "value": SHORT_MASK}]
    # A second pass (the store's safety net) keeps what the first carried.
    assert shield_observation(kept, keep_values=False)["meta"]["secrets"] == kept["meta"]["secrets"]


def test_shield_masks_the_conversation_name_and_an_export_title_too():
    item = {"kind": "chat", "text": "hello", "conversation": "wifi password: Qq12345x", "meta": {"title": "PIN 4321 for the bank"}}
    shielded = shield_observation(item, keep_values=True)
    assert shielded["conversation"] == "wifi password: ••••••••" and shielded["meta"]["title"] == "PIN •••••••• for the bank"
    assert [s["value"] for s in shielded["meta"]["secrets"]] == ["Qq12345x", "4321"]


# -- phone numbers and postal addresses: vault values, masked like every other ---------------------------------


@pytest.mark.parametrize("text, value", [
    ("Ring the vet at +33 (0)4 78 12 34 56 tomorrow.", "+33 (0)4 78 12 34 56"),
    ("La pharmacie : 04 78 12 34 56.", "04 78 12 34 56"),
    ("Standard du cabinet : 04.78.12.34.56 (le matin).", "04.78.12.34.56"),
    ("Hausarzt Telefon 089 7654321, nur vormittags.", "089 7654321"),
    ("Praxis Dr. Brandt: +49 (0)89 7654321", "+49 (0)89 7654321"),
    ("Büro Kessler: 089/7654321", "089/7654321"),
    ("Mi móvil es 655 123 987.", "655 123 987"),
    ("O telemóvel da Rita é 912 876 543.", "912 876 543"),
    ("Call the surgery on 0161 496 0732 before nine.", "0161 496 0732"),
    ("The landlord's cell is (212) 555-0199.", "(212) 555-0199"),
    ("office line: 212.555.0199", "212.555.0199"),
    ("Grandpa: +1 (212) 555-0199", "+1 (212) 555-0199"),
])
def test_phone_numbers_are_masked_whole_in_every_format(text, value):
    found = [(s.kind, s.value) for s in find_secrets(text)]
    assert found == [("phone", value)]
    assert value not in mask_text(text).text and not any(group in mask_text(text).text for group in value.split()[1:] if len(group) > 2)


@pytest.mark.parametrize("text", [
    "The review is on 03 11 2026, call me after it.",
    "Call at 14.30 or 16.45 tomorrow.",
    "Call them: the flat costs 1 299 000 € in total.",
    "Call about order number 555 123 4567.",
    "Bestellnummer: 4711 2233 98, bitte anrufen.",
    "Office printer at 10.0.12.254 again.",
    "Call me, I'm in room 2201 3345.",
    "Our office is in 75011 Paris.",
    "Phone release 2026.04.1 shipped.",
])
def test_dates_times_prices_order_numbers_and_postcodes_are_not_phone_numbers(text):
    assert [s for s in find_secrets(text) if s.kind == "phone"] == []


@pytest.mark.parametrize("text, masked, kept", [
    ("I moved to 9 Avenue Jean Jaurès, 69007 Lyon last week.", "I moved to ••••••••07 Lyon last week.",
     "9 Avenue Jean Jaurès, 69007 Lyon"),
    ("Wir wohnen jetzt in der Gartenstraße 21, 50667 Köln.", "Wir wohnen jetzt in der ••••••••67 Köln.",
     "Gartenstraße 21, 50667 Köln"),
    ("Post goes to 18 Elm Grove, Bristol.", "Post goes to ••••••••ve, Bristol.", "18 Elm Grove, Bristol"),
    # A postcode after the town is masked too, and the town between stays readable.
    ("Send it to 7 Mill Lane, Jesmond, Newcastle NE2 1AB please.", "Send it to ••••••••, Jesmond, Newcastle •••••••• please.",
     "7 Mill Lane, Jesmond, Newcastle NE2 1AB"),
])
def test_an_address_is_masked_up_to_its_postcode_and_the_vault_keeps_it_whole(text, masked, kept):
    shielded = shield_observation({"kind": "chat", "text": text, "role": "user"}, keep_values=True)
    assert shielded["text"] == masked
    assert {(s["kind"], s["value"]) for s in shielded["meta"]["secrets"]} == {("address", kept)}


# -- a place or an adverb between a label and its value ------------------------------------------------------


@pytest.mark.parametrize("text, label, value", [
    ("the gate code upstairs is 7105#", "gate code upstairs", "7105#"),
    ("the keypad code outside is 3390*", "keypad code outside", "3390*"),
    ("our alarm code at home is 80417", "alarm code at home", "80417"),
    ("my PIN here is 6028*", "PIN here", "6028*"),
    ("der Tor-Code unten ist 5521#", "Tor-Code unten", "5521#"),
    ("le code de la porte en haut est 2291", "code de la porte en haut", "2291"),
    ("el código de acceso aquí es 6620#", "código de acceso aquí", "6620#"),
    ("a senha lá em cima é Lontra-55", "senha lá em cima", "Lontra-55"),
    ("my password at work is Marlin_4410", "password at work", "Marlin_4410"),
])
def test_a_short_place_between_label_and_connector_still_finds_the_value(text, label, value):
    assert [(s.label, s.value) for s in find_secrets(text)] == [(label, value)]


@pytest.mark.parametrize("text", [
    "the gate code upstairs is on the fridge",
    "the door code downstairs was changed yesterday",
    "the code here is 404 errors",
    "the password there is wrong",
])
def test_a_place_does_not_turn_words_into_a_value(text):
    assert find_secrets(text) == []
