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


# -- national ID numbers of more countries, by name and check digits ------------------------------------------


@pytest.mark.parametrize("text, label, value", [
    ("na wizytę u lekarza podaję numer PESEL: 85031212343 i adres", "numer PESEL", "85031212343"),
    ("voor de huurder: mijn burgerservicenummer is 270598418.", "burgerservicenummer", "270598418"),
    ("Försäkringskassan vill ha mitt personnummer, det är 900714-2384", "personnummer", "900714-2384"),
    ("skatteetaten spurte om fødselsnummeret mitt: 15039012488", "fødselsnummeret", "15039012488"),
    ("lægen skal bruge mit CPR-nummer 150390-4417 i morgen", "CPR-nummer", "150390-4417"),
    ("Kelan lomakkeeseen: henkilötunnukseni on 240587-112K", "henkilötunnukseni", "240587-112K"),
    ("kargo için TC kimlik no 28519764800 lazım", "TC kimlik no", "28519764800"),
    ("per la farmacia il mio codice fiscale è BNCGLI90A41F205H", "codice fiscale", "BNCGLI90A41F205H"),
    ("para el alquiler piden mi NIE Y7654321G y la nómina", "NIE", "Y7654321G"),
    ("la mutuelle demande mon numéro de sécu : 2 69 03 75 123 456 96", "numéro de sécu", "2 69 03 75 123 456 96"),
    ("Die Krankenkasse braucht die AHV-Nummer 756.1234.5678.97 bis Freitag", "AHV-Nummer", "756.1234.5678.97"),
    ("the bank form needs the Aadhaar number 2345 6789 0124 too", "Aadhaar number", "2345 6789 0124"),
    ("Service Canada asked for my SIN, it's 546 287 335", "SIN", "546 287 335"),
    ("HR typed my social security number as 536-22-8046", "social security number", "536-22-8046"),
])
def test_national_ids_are_found_after_their_name_when_their_check_digits_hold(text, label, value):
    [secret] = find_secrets(text)
    assert (secret.kind, secret.label, secret.value) == ("national_id", label, value)
    assert value not in mask_text(text).text


@pytest.mark.parametrize("text, value", [
    ("scan attached: BNCGLI90A41F205H", "BNCGLI90A41F205H"),
    ("Titular 48291057G, firma abajo", "48291057G"),
    ("Versichertennummer 756.1234.5678.97 (Kopie)", "756.1234.5678.97"),
    ("hakija 240587-112K", "240587-112K"),
])
def test_formats_with_a_check_character_are_found_by_shape_alone(text, value):
    assert [(s.kind, s.value) for s in find_secrets(text)] == [("national_id", value)]


@pytest.mark.parametrize("text", [
    "mój PESEL to 85031212344",  # one digit off: the check digit fails
    "BSN 270598419 staat op de brief",
    "TC kimlik no 28519764801",
    "il codice fiscale è BNCGLI90A41F205J",
    "SIN 546 287 336",
    "Titular 48291057H",  # the wrong check letter
    "order 85031212343 shipped on 2026-05-02 for 49.90 EUR",  # a valid PESEL's digits, but nothing calls it one
    "Ring me on 0612 345 678 after the meeting",
    "invoice 756.1234.5678.90 is overdue",
    "the personnummer field on the form was blank, deadline 2026-03-14",
    "my Aadhaar card arrived, it cost 50 rupees on 12/04/2026",
])
def test_numbers_that_fail_their_check_or_name_no_id_are_left_alone(text):
    assert [s for s in find_secrets(text) if s.kind == "national_id"] == []


@pytest.mark.parametrize("text, label, value", [
    ("mój numer dowodu osobistego to ABC123456", "numer dowodu osobistego", "ABC123456"),
    ("mijn ID-nummer is NX84J21K7", "ID-nummer", "NX84J21K7"),
    ("il numero della carta d'identità è CA00000AA1234", "numero della carta d'identità", "CA00000AA1234"),
])
def test_an_identity_number_by_its_name_in_more_languages(text, label, value):
    assert [(s.kind, s.label, s.value) for s in find_secrets(text)] == [("national_id", label, value)]


# -- a number's name, a few words, a colon, the value --------------------------------------------------------


@pytest.mark.parametrize("text, label, value", [
    ("putting my library card number in here before I lose it again: LIB-20931", "library card number", "LIB-20931"),
    ("customer number at the garage, for next winter's tyres: WK-88213", "customer number", "WK-88213"),
    ("ok so my frequent flyer number for the Oslo trip: SK-7734120", "frequent flyer number for the Oslo trip", "SK-7734120"),
])
def test_a_number_named_a_few_words_before_its_colon_is_found(text, label, value):
    found = [(s.kind, s.label) for s in find_secrets(text)]
    assert found and found[0] == ("membership", label)
    masked = mask_text(text).text
    assert value not in masked


@pytest.mark.parametrize("text", [
    "membership number renewal is due on: 2027-03-31",
    "my customer number changes when the shop moves, see: 14.05.2026",
    "the membership was great, total price: 45.00",
    "membership fees for this year: 120",
])
def test_dates_prices_and_fees_after_a_number_name_are_not_values(text):
    assert find_secrets(text) == []


# -- a reply that is only a value, labelled by the turn before ---------------------------------------------


@pytest.mark.parametrize("previous, reply, kind, label, value", [
    ("Great, and what's the passport number on the new one?", "K48Z91TQ2", "passport", "passport number", "K48Z91TQ2"),
    ("For the booking I need your passport number and nationality.", "sure: PA7719302, Irish", "passport", "passport number",
     "PA7719302"),
    ("what was the code for the bike shed again?", "it's 7790", "access_code", "code for the bike shed", "7790"),
    ("I finally changed my banking PIN, guess what it is now…", "3091", "pin", "banking PIN", "3091"),
    ("Which IBAN should the refund go to? And your account number?", "55120907", "bank_account", "account number", "55120907"),
    ("Can you tell me your gym membership number?", "CRX-99312", "membership", "gym membership number", "CRX-99312"),
    ("What's your PESEL?", "85031212343", "national_id", "PESEL", "85031212343"),
    ("Could I get the wifi password for the studio?", "Tangerine-42!", "password", "wifi password for the studio", "Tangerine-42!"),
    ("and the best mobile number to reach you?", "+353 87 123 4567", "phone", "mobile number", "+353 87 123 4567"),
])
def test_a_bare_reply_is_the_secret_the_turn_before_asked_for(previous, reply, kind, label, value):
    assert find_secrets(reply) == [] or kind == "phone"  # alone, the reply names nothing
    [secret] = find_secrets(reply, previous)
    assert (secret.kind, secret.label, secret.value) == (kind, label, value)
    assert value not in mask_text(reply, previous).text


@pytest.mark.parametrize("previous, reply", [
    ("Thanks. And which day do you land?", "14 Oct"),
    ("What's your passport number?", "I'll look it up tonight"),
    ("What's the wifi password?", "no idea"),
    ("What's the wifi password?", "later"),
    ("What's your PESEL?", "85031212344"),  # fails its check digit
    ("What's your phone number?", "2026-05-02"),
    ("What's the door code?", "12"),
    ("How many pins do you need for the poster?", "1500"),
    ("When does your membership run out?", "2027-03-31"),
    ("What's your order number?", "884120"),
    ("How much was the passport renewal?", "95.50"),
    ("What's your passport number?", "it's the one from 2019, valid until 2029, I think it starts with K4"),
])
def test_a_reply_that_is_no_secret_of_the_kind_asked_is_left_alone(previous, reply):
    assert find_secrets(reply, previous) == []


def test_shield_carries_a_bare_reply_to_the_vault_with_the_label_of_the_question():
    item = {"kind": "chat", "text": "Z3310984, valid to 2030", "role": "user"}
    shielded = shield_observation(item, keep_values=True, previous="Which passport number should go on the ticket?")
    assert shielded["text"] == "••••••••, valid to 2030"
    assert shielded["meta"]["secrets"] == [{"kind": "passport", "label": "passport number", "value": "Z3310984"}]


# -- a terminal's prompt for a password is no password ----------------------------------------------------


def test_the_line_after_a_sudo_prompt_is_not_taken_for_the_password():
    text = "[sudo] password for maya:\nmaya@devbox:~/shop$ ls -la\ntotal 8"
    assert find_secrets(text) == [] and mask_text(text).text == text
    assert [s.value for s in find_secrets("Password:\nqX7!pa55")] == ["qX7!pa55"]  # a form's value on the next line stays


@pytest.mark.parametrize("text, label, value", [
    ("ugh, the new banking PIN? it's… 2716", "banking PIN", "2716"),
    ("garage door code? 3384#, don't tell the neighbours", "garage door code", "3384#"),
    ("the guest wifi password? Seagull-19 this month", "guest wifi password", "Seagull-19"),
])
def test_a_secret_asked_and_answered_in_one_message(text, label, value):
    assert [(s.label, s.value) for s in find_secrets(text)] == [(label, value)]


@pytest.mark.parametrize("text", [
    "Do you remember the wifi password? It's on the fridge",
    "my PIN? no clue, I'll reset it",
    "Where is the door code? In the drawer",
    "Passport? Yes, valid until 2031",
])
def test_a_question_about_a_secret_without_its_value_is_left_alone(text):
    assert find_secrets(text) == []


@pytest.mark.parametrize("previous", ["What's the meeting ID for tomorrow?", "Which order ID did they give you?"])
def test_a_reply_with_the_id_of_a_thing_is_no_national_id(previous):
    assert find_secrets("88422319021", previous) == [] and find_secrets("A-55121", previous) == []


# -- detector 5: terse notes, codes in more languages, a new value for a code, mobile numbers in a story ------------


@pytest.mark.parametrize("text, value", [
    ("pin visa 3 = 8806", "8806"),
    ("code shed 6640", "6640"),
    ("wifi cabin: Loft-7731x", "Loft-7731x"),
    ("door code cabin = 2291", "2291"),
])
def test_a_terse_note_of_a_label_and_a_value_is_a_secret(text, value):
    assert [s.value for s in find_secrets(text)] == [value]


@pytest.mark.parametrize("text", [
    "code review 2025",
    "code freeze 14:00",
    "pin the poster up 3pm",
    "error code 4004",
    "room 2 = 312",
    "version 2.4.1 = latest",
    "code club fri 1600",
])
def test_a_terse_line_that_is_no_secret_is_left_alone(text):
    assert find_secrets(text) == []


@pytest.mark.parametrize("text, value, word", [
    ("de code van het kluisje op mijn werk is 6203, handig", "6203", "kluisje"),
    ("onze deurcode is 7719#", "7719#", "deurcode"),
    ("kod do drzwi na klatce to 5817", "5817", "kod do drzwi"),
    ("moja szafka na basenie: 2948", "2948", "szafka"),
    ("portkoden är 3062 sedan i går", "3062", "portkoden"),
    ("kapı kodu 9156", "9156", "kapı kodu"),
    ("il codice del cancello è 4410", "4410", "codice del cancello"),
    ("l'armadietto in palestra è 8137", "8137", "armadietto"),
])
def test_door_gate_and_locker_codes_in_dutch_polish_swedish_turkish_and_italian(text, value, word):
    found = find_secrets(text)
    assert [s.value for s in found] == [value]
    assert found[0].kind == "access_code" and word in found[0].label.lower()


@pytest.mark.parametrize("text", [
    "het kluisje is 12 euro per maand",
    "szafka numer 14",
    "de deurcode werkt niet",
    "il codice del cancello è cambiato ieri",
])
def test_locker_words_without_a_code_after_them_are_left_alone(text):
    assert find_secrets(text) == []


@pytest.mark.parametrize("text, label, value", [
    ("the landlord changed the bin store code, it's 6672 now", "bin store code", "6672"),
    ("They reset the alarm code. It's 3904 now.", "alarm code", "3904"),
    ("new garage code today - now it's 2281", "garage code", "2281"),
    ("the club changed the padlock combination to 5093", "padlock combination", "5093"),
])
def test_a_new_value_for_a_code_is_found_in_the_same_or_the_next_sentence(text, label, value):
    found = find_secrets(text)
    assert [(s.label, s.value) for s in found] == [(label, value)]
    assert found[0].kind in ("access_code", "pin")


@pytest.mark.parametrize("text", [
    "they changed the gate code. It's 2026 and nobody told us",
    "the door code changed. It's annoying now",
    "we changed the alarm code. It's been 3 weeks",
    "They reset the PIN. It's 10:30 now.",
])
def test_a_code_change_without_a_new_code_is_left_alone(text):
    assert find_secrets(text) == []


@pytest.mark.parametrize("text, value", [
    ("my cousin Darragh (the plumber, 086 553 0912) sorted the leak", "086 553 0912"),
    ("Niamh rang me from 0894417203 about the match", "0894417203"),
    ("texted Aoife on 0851230987 about the lift", "0851230987"),
    ("Fiona from the choir, 07700 900461, has the keys", "07700 900461"),
    ("Julien m'a rappelé, 06 42 18 77 09, pour la soirée", "06 42 18 77 09"),
])
def test_a_mobile_number_in_a_story_is_found_by_its_national_shape(text, value):
    assert [(s.kind, s.value) for s in find_secrets(text)] == [("phone", value)]


@pytest.mark.parametrize("text", [
    "we won 3-1 and the bus left at 08:45",
    "order 0871234567 shipped",
    "the flat cost 087 000 euro",
    "room 0871 on floor 3",
    "upgraded to version 0.8.7.2145",
    "she was born 07/11/1990 and rang me at 21:30",
])
def test_scores_times_orders_rooms_and_versions_are_no_mobile_numbers(text):
    assert [s for s in find_secrets(text) if s.kind == "phone"] == []


@pytest.mark.parametrize("text, label, value", [
    ("garage code changed: 6614", "garage code", "6614"),
    ("Kapı kodu değişti, yeni kod 5581", "Kapı kodu", "5581"),
    ("szafka 12, nowy kod 3307", "kod", "3307"),
])
def test_a_new_code_keeps_the_label_it_had_before(text, label, value):
    assert [(s.label, s.value) for s in find_secrets(text)] == [(label, value)]


def test_a_calling_verb_is_not_the_caption_of_a_phone_number():
    assert [(s.label, s.value) for s in find_secrets("Aisling phoned me from 089 620 1147")] == [("phone number", "089 620 1147")]


@pytest.mark.parametrize("text", [
    "The barbecue is at Tomás's place Sunday 21 June, bring chairs.",
    "Drinks at Mia's place Friday 9 from eight.",
    "We land at the Square 14 May and head straight to the hotel.",
])
def test_a_day_after_a_street_word_is_a_date_not_an_address(text):
    assert [s for s in find_secrets(text) if s.kind == "address"] == []


def test_a_street_named_after_a_month_is_still_an_address():
    assert [s.kind for s in find_secrets("Parcel to 12 March Lane, Leeds please.")] == ["address"]
