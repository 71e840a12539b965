"""Words as answering compares them: folded, split, stemmed, and grouped by meaning.

A question's terms are compared with the words of the evidence after folding
(lowercase, accents removed, ß as ss), with contractions and elisions taken off
("Priya's" is ``priya``, "j'habite" is ``habite``).  Two words match when they
are equal, share a Porter stem, or differ only in a short ending after a common
beginning (``wohne``/``wohnt``, ``membership``/``member``): enough for the
inflections of the five languages Engram meets, without a stemmer per language.

``CONCEPTS`` are small groups of everyday words that answer for each other
("where do I live" is answered by "we moved", "new address", "ich wohne");
each may add a pattern for what a word list cannot hold ("I'm a nurse" answers
"what's my job").  ``CATEGORIES`` are everyday kinds of things and their common
members ("which antibiotic" is answered by "penicillin", "qu'est-ce que je bois"
by "thé"): a category word asked about is held by a sentence naming a member.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from core.ranking import stem as porter_stem

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_ELISIONS = frozenset("j l d m t s n c qu lorsqu puisqu jusqu".split())


def fold(text: str) -> str:
    """Lowercase without accents: ``Düsseldorf`` -> ``dusseldorf``, ``Straße`` -> ``strasse``."""
    text = (text or "").replace("ß", "ss").replace("ẞ", "ss").replace("ı", "i").replace("ł", "l").lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _bare(token: str) -> str:
    """A token without its contraction or elision: ``priya's`` -> ``priya``, ``j'habite`` -> ``habite``."""
    if "'" not in token and "’" not in token:
        return token
    parts = re.split(r"['’]", token)
    return parts[1] if parts[0] in _ELISIONS else parts[0]


@lru_cache(maxsize=50_000)
def _words(text: str) -> tuple[str, ...]:
    out = []
    for raw in _TOKEN.findall(fold(text)):
        word = _bare(raw)
        if word:
            out.append(word)
    return tuple(out)


def words(text: str) -> list[str]:
    """The folded words of ``text`` in order (repeats kept; underscores, dots and dashes split words)."""
    return list(_words(text or ""))


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    return porter_stem(word) if word.isascii() else word


_SUFFIXES = frozenset("""s es ed er ers or ors ing ings ship ships ment ments ness al ally ly ion ions ation ations able
ful ity ive ist ists ism ian ians ery ship""".split())


def same_word(a: str, b: str) -> bool:
    """Whether two folded words are forms of one word (see the module docstring)."""
    if a == b:
        return True
    if min(len(a), len(b)) < 3:
        return False
    if stem(a) == stem(b):
        return True
    if min(len(a), len(b)) < 4:
        return False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 5 and long_.startswith(short) and long_[len(short):] in _SUFFIXES:
        return True  # membership / member, designer / design
    common = 0
    for x, y in zip(a, b):
        if x != y:
            break
        common += 1
    # Different endings of one stem: wohne / wohnt, habite / habiter, allergic / allergies.
    return common >= 4 and min(len(a), len(b)) >= 5 and common >= max(len(a), len(b)) - 2


COMPOUND_HEAD = 8  # the shortest last part of a compound that answers for the whole


class WordSet:
    """The words of a text, for fast ``has`` checks with ``same_word``."""

    def __init__(self, items: Iterable[str]):
        self.items = frozenset(items)
        self._stems = {stem(w) for w in self.items if len(w) >= 3}
        self._prefix: dict[str, list[str]] = {}
        for w in self.items:
            if len(w) >= 4:
                self._prefix.setdefault(w[:4], []).append(w)

    def has(self, word: str) -> bool:
        if word in self.items:
            return True
        if len(word) < 3:
            return False
        if stem(word) in self._stems:
            return True
        if len(word) < 4:
            return False
        if any(same_word(word, other) for other in self._prefix.get(word[:4], ())):
            return True
        # A German compound names a kind of its last part: "Personalausweisnummer" is an "Ausweisnummer".
        return len(word) >= COMPOUND_HEAD and any(len(o) > len(word) and o.endswith(word) for o in self.items)

    def __len__(self) -> int:
        return len(self.items)


# -- function words -----------------------------------------------------------------------------------------------

_EN = """a an the and or but if of at by for with about against between into through during before after above below
to from up down in out on off over under again further then once here there when where why how all any both each
few more most other some such no nor not only own same so than too very s t can will just don should now i me my
myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself it its
itself they them their theirs themselves what which who whom whose this that these those am is are was were be
been being have has had having do does did doing would could might must shall may ever also as yes ok okay
tell remember recall know please im ive id ill doesn didn isn aren wasn weren won cant dont shouldn still
since until within last next time times new follow follows making doing
currently anymore again get gets got go goes going went gone use uses used using keep keeps kept take takes took
make makes made need needs want wants wanted like likes let one ones thing things stuff something anything
kind sort type much many long often old give put find found think say said see saw usually normally right
there's that's what's who's where's when's how's""".split()
_DE = """ich du er sie es wir ihr mein meine meinen meinem meiner meines dein deine sein seine seinen seiner ihre
ihren ihrem unser unsere der die das den dem des ein eine einen einem einer und oder aber nicht kein keine ist
sind war waren bin bist hat habe haben hatte hatten wird werden wurde wo wann wie was wer wen wem welche welcher
welches welchen welchem warum bis seit mit von zu zum zur in im am an auf aus bei fur uber unter nach vor noch
schon jetzt nun auch so da dann denn ja nein mal oft viel viele gibt man sich mir mich dich uns euch ihm ihn ihnen
um als wenn dass ob steht gerade immer""".split()
_FR = """je j tu il elle on nous vous ils elles me m te se s mon ma mes ton ta tes son sa ses notre nos votre vos
leur leurs le la les l un une des du de d et ou mais ne pas est sont suis es etait ai as a avons avez ont ou
quand comment quel quelle quels quelles qui que qu quoi pourquoi combien dans sur sous avec pour par en au aux ce
cet cette ces ca c y encore toujours maintenant est-ce moi toi lui eux""".split()
_ES = """yo tu el ella nosotros vosotros ellos ellas mi mis su sus tus nuestro nuestra los las un una unos unas y o
pero no es son soy eres esta estan estoy era he ha han hay tengo tienes tiene donde cuando como que quien
quienes cual cuales cuanto cuanta cuantos cuantas por para con de del al en a lo le les me se te ya ahora todavia
aun muy""".split()
_PT = """eu ele ela nos voce voces meu minha meus minhas seu sua seus suas teu tua o os as um uma uns umas e ou mas
nao sao sou estou foi era tenho tem temos onde quando como quem qual quais quanto quanta quantos quantas do da
dos das em no na nas num numa para por com ao aos se lhe ja agora ainda muito""".split()
# "Do" and "make" in the other languages: they ask what is done, the answer names it ("je cours" for "quel sport
# est-ce que je fais").
_LIGHT_VERBS = """mache machst macht machen gemacht fais fait faites faire font hago haces hace hacen hacer hecho faco
faz fazem fazer feito""".split()
# "Can I", "may I": the question is about the verb after them ("¿Puedo comer gluten?" asks about eating gluten).
_MODALS = """puedo puede puedes podemos pueden posso pode podes podemos podem peux peut pouvons pouvez peuvent darf
darfst durfen konnen kann kannst""".split()
STOPWORDS = frozenset(fold(w) for w in _EN + _DE + _FR + _ES + _PT + _LIGHT_VERBS + _MODALS)

# Words that ask for "the current state": the newest statement answers.
NOW_WORDS = frozenset(fold(w) for w in """now still currently anymore jetzt nun maintenant encore desormais ahora
todavia aun agora ainda""".split())
# Words that name the unit of a time asked for ("on which day", "a que horas"): the answer is a time, not them.
TIME_NOUNS = frozenset(fold(w) for w in """day days date time hour hours tag datum uhrzeit jour heure heures dia
hora horas fecha data""".split())


# -- groups of words that answer for each other -------------------------------------------------------------------


@dataclass(frozen=True)
class Concept:
    name: str
    words: frozenset[str]
    pattern: re.Pattern | None = None

    def in_text(self, word_set: WordSet, raw: str) -> bool:
        if any(word_set.has(w) for w in self.words):
            return True
        return bool(self.pattern and self.pattern.search(raw))


_OCCUPATIONS = r"""nurse|doctor|teacher|engineer|developer|dev|designer|manager|auditor|accountant|lawyer|architect|
programmer|analyst|consultant|researcher|scientist|student|professor|chef|cook|pilot|driver|journalist|writer|
editor|photographer|pharmacist|dentist|vet|therapist|physio|midwife|paramedic|carpenter|plumber|electrician|
firefighter|officer|clerk|cashier|waiter|waitress|barista|freelancer?|self-employed|architecte|infirmi[eè]re?|
m[ée]decin|avocat|enseignant|ingenieur|ingénieur|lehrer(in)?|arzt|ärztin|hebamme|tischler|entwickler(in)?|
krankenpfleger(in)?|profesora?|enfermer[oa]|m[ée]dic[oa]|abogad[oa]|ingenier[oa]|engenheir[oa]|advogad[oa]|
enfermeir[oa]|programador[a]?|baker|boulang[eè]re?|b[äa]cker(in)?|panader[oa]|padeir[oa]|hairdresser|coiffeur|
coiffeuse|friseur(in)?|peluquer[oa]|cabeleireir[oa]|mechanic|m[ée]canicien(ne)?|mechaniker(in)?|mec[áa]nic[oa]|
butcher|boucher|bouch[eè]re|metzger(in)?|carnicer[oa]|translator|interpreter|traduct(eur|rice)|[üu]bersetzer(in)?|
traductor[a]?|tradutor[a]?|t[łl]umacz\w*|farmer|agriculteur|landwirt(in)?|gardener|jardinier|g[äa]rtner(in)?|
postman|postwoman|facteur|briefträger(in)?|cartero|carteiro|tailor|couturi[eè]re?|schneider(in)?|
kellner(in)?|serveur|serveuse|camarer[oa]|polici(er|[èe]re)|polizist(in)?|polic[íi]a|bombeiro|bombero|
maestr[oa]|professeur|professeure|instituteur|institutrice|lehrerin|pflegerin|elektriker|[ée]lectricien|
electricista|eletricista|plombier|klempner|fontanero|encanador|ingegnere|avvocato|insegnante|infermier[ae]|
medico|m[ée]decin|apotheker(in)?|pharmacien(ne)?|farmac[ée]utic[oa]|architekt(in)?|arquitect[oa]""".replace("\n", "")

CONCEPTS: tuple[Concept, ...] = (
    Concept("live", frozenset(fold(w) for w in """live lives living lived reside resides based home address moved stay
        staying
        wohne wohnt wohnen wohnung lebe lebt adresse umgezogen habite habites habitent habiter habitons domicile
        demenage moro mora moram morar moramos endereco mudei mudamos vivo vive viven vivimos vivir direccion
        mude abito abita abitiamo yasiyor yasiyorum yasiyoruz oturuyor oturuyorum rehti rehta rehte sunde
        sundeimasu sumu""".split()),
            re.compile(r"\b(new address|we moved|moved to|moved there|based in)\b|\bs['’]install\w*|\bs['’]est install\w*|"
                       r"\b(przeprowadzi\w*|mieszka\w*)", re.IGNORECASE)),
    Concept("work", frozenset(fold(w) for w in """work works worked working job jobs employer employed employee career
        profession occupation role roles rolle poste puesto arbeite arbeitet arbeiten arbeit beruf travaille travailles travail metier emploi
        boulot trabajo trabaja trabajar empleo trabalho trabalha trabalhar emprego lavoro lavora lavorare
        calisiyor calisiyorum naukri kaam hataraite hataraku hataraiteimasu shigoto kaisha pracuje praca
        werk werkt""".split()),
            re.compile(rf"\b(i'?m an? |i am an? |je suis |ich bin |sou |soy )|(\b({_OCCUPATIONS})\b)|\s@\s?\w|"
                       r"\b(he|she)(['’]s| is) an? \w|\b(il|elle) est (une? )?\w+(ier|i[èe]re|eur|euse|iste|ien|ienne|ger|g[èe]re)\b|"
                       r"\b(started|starts|starting|works?|working|job|employed|hired|trained) as (an? |the )?\w|"
                       r"\b\w{3,}(ographer|ologist|ician|iatrist|apist)s?\b",
                       re.IGNORECASE)),
    Concept("name", frozenset(fold(w) for w in """name named call called appelle appelles appelons nom heisse heisst
        heiss nombre llamo llama nome chamo chama chiamo naam adim namae nazywam imie""".split()),
            re.compile(r"\b(?i:i'?m|i am|my name is|call me|je suis|je m'appelle|ich bin|ich heiße|ich heisse|me llamo|soy|"
                       r"sou o|sou a|chamo-me|me chamo|watashi wa|boku wa|ore wa|mera naam|benim ad[ıi]m|mi chiamo)\s+"
                       r"[A-ZÀ-Þİ]\w+|\b[A-ZÀ-Þ]\w+\s+here\b")),
    # "Matteo's 40th", "for her 30th": a person's ordinal is their birthday.
    Concept("birthday", frozenset(fold(w) for w in """birthday birthdays born turns turning geburtstag anniversaire
        cumpleanos aniversario jarig verjaardag urodziny party parties bash feier geburtstagsfeier fete fiesta festa
        impreza""".split()),
            re.compile(r"\b\w+['’]s\s+\d{1,3}(st|nd|rd|th)\b|\b(his|her|their)\s+\d{1,3}(st|nd|rd|th)\b", re.IGNORECASE)),
    # "How is Mireille related to me?": a kinship word is the relation.
    Concept("related", frozenset(fold(w) for w in """related relation relationship relative relatives verwandt
        verwandte parente pariente""".split()),
            re.compile(r"(?i)\b(sister|brother|cousin|mother|father|mum|mom|dad|aunt|uncle|niece|nephew|grand\w+|wife|"
                       r"husband|partner|son|daughter|step\w+|\w+-in-law|schwester|bruder|cousine|tante|onkel|nichte|"
                       r"neffe|s(?:œ|oe)ur|fr[èe]re|oncle|ni[èe]ce|neveu|prim[oa]|herman[oa]|t[íi][oa]|sobrin[oa]|"
                       r"irm[ãa]o?|kuzyn\w*|siostr\w*|brat)\b")),
    Concept("partner", frozenset(fold(w) for w in """partner partners pareja partenaire compagnon compagne
        lebensgefahrte lebensgefahrtin partnerin parceiro parceira companheiro companheira partnerka
        """.split())),
    Concept("doctor", frozenset(fold(w) for w in """doctor doctors dr gp physician arzt arztin hausarzt hausarztin
        medecin medico medica doctora""".split())),
    Concept("mother", frozenset(fold(w) for w in """mum mom mother mama mamma mommy mummy mutter mutti maman madre
        mae matka anne annem annesi maa mummy mumma ammi okaasan moeder""".split())),
    Concept("father", frozenset(fold(w) for w in """dad father papa daddy vater vati pere padre pai tata ojciec
        tato""".split())),
    Concept("arrive", frozenset(fold(w) for w in """arrive arrives arriving arrived arrival lands landing ankommen
        ankunft arrivee arriver llega llegan llegar llegada chega chegam chegar chegada""".split()),
            re.compile(r"\b(komm\w* \w+ an|arriv[eé]\w*)\b", re.IGNORECASE)),
    Concept("parking", frozenset(fold(w) for w in """parking parken parkplatz parkeren stationnement aparcamiento
        estacionamento""".split()), re.compile(r"\bparkeer\w*|\bpark(ausweis|platz|genehmigung)\w*", re.IGNORECASE)),
    Concept("permit", frozenset(fold(w) for w in """permit permits licence license vergunning genehmigung
        permis permiso licencia licenca autorizacao""".split())),
    Concept("renew", frozenset(fold(w) for w in """renew renewal renewing extend extension verlengen verlenging
        verlangern verlangerung renouveler renouvellement renovar renovacion renovacao""".split())),
    Concept("phone", frozenset(fold(w) for w in """phone telephone mobile cell number telefon handy nummer portable
        numero telefono celular""".split()),
            re.compile(r"\+\d[\d ()-]{6,}\d")),
    Concept("email", frozenset(("email", "mail")), re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")),
    Concept("diet", frozenset(fold(w) for w in """diet eat eats eating vegan vegetarian pescatarian gluten lactose
        halal kosher keto vegane vegetarisch regime dieta vegano vegana celiac coeliac celiaca celiaco zoliakie
        coeliaque essen esse isst manger mange mangez comer come comemos comes meat fleisch viande carne vegetarier
        vegetarierin veganer veganerin vegetarien vegetarienne vegetariano vegetariana vegetarianos pescetarian
        pescatariana wegetarianka wegetarianin weganka""".split())),
    Concept("allergy", frozenset(fold(w) for w in """allergic allergy allergies allergique allergie allergisch
        alergico alergica alergia""".split())),
    Concept("money", frozenset(fold(w) for w in """cost costs price prices fee fees pay paid charge charges charged
        rent earn earned earns salary income owe owed euro euros eur pounds dollars kostet kosten preis miete gehalt
        prix coute loyer salaire precio cuesta alquiler sueldo preco custa aluguel salario""".split()),
            re.compile(r"[€$£]|\b\d[\d.,]*\s?(k|eur|usd|gbp|chf)\b", re.IGNORECASE)),
    Concept("drive", frozenset(fold(w) for w in """drive drives driving drove car cars fahre fahrt fahren auto voiture
        conduis conduire coche conduzco conduce carro dirijo""".split())),
    Concept("network", frozenset(fold(w) for w in "router wifi wlan modem network".split())),
    Concept("wedding", frozenset(fold(w) for w in """wedding weddings married marry marrying marriage hochzeit heiraten
        heiratet verheiratet mariage marier marie boda casarse casa casamento casar shaadi shadi vivah dugun
        kekkon kekkonshiki matrimonio nozze slub bruiloft huwelijk""".split())),
    Concept("train", frozenset(fold(w) for w in """train trains rail railway railways ice tgv eurostar intercity
        zug bahn tren comboio""".split())),
    Concept("depart", frozenset(fold(w) for w in """leave leaves leaving depart departs departure dep abfahrt
        depart départ salida sale partida sai""".split())),
    Concept("bank", frozenset(fold(w) for w in """bank banks banking account accounts iban konto bankkonto banque
        compte banco cuenta conta""".split())),
    Concept("file", frozenset(fold(w) for w in """document documents file files pdf spreadsheet ods xlsx xls docx
        odt csv sheet""".split())),
    # A German compound names its kind by its first part too: a "Mietvertrag" is a rental contract.
    Concept("lease", frozenset(fold(w) for w in """rental lease leases leasing tenancy tenant letting mietvertrag
        mietvertrage mietvertrages mieter vermieter bail locataire arrendamiento arrendamento inquilino""".split())),
    Concept("contract", frozenset(fold(w) for w in """contract contracts agreement agreements vertrag vertrage
        mietvertrag mietvertrage arbeitsvertrag kaufvertrag contrat contrats bail contrato contratos""".split())),
    Concept("budget", frozenset(fold(w) for w in """budget budgets haushaltsbuch haushaltsplan haushaltskasse
        presupuesto presupuestos orcamento orcamentos""".split())),
)
_CONCEPT_OF: dict[str, list[Concept]] = {}
for _concept in CONCEPTS:
    for _word in _concept.words:
        _CONCEPT_OF.setdefault(_word, []).append(_concept)


@lru_cache(maxsize=20_000)
def concepts_of(word: str) -> tuple[Concept, ...]:
    """The concepts ``word`` (folded) belongs to, matching forms of a word too."""
    found = list(_CONCEPT_OF.get(word, ()))
    if not found and len(word) >= 4:
        for other, concepts in _CONCEPT_OF.items():
            if same_word(word, other):
                found.extend(c for c in concepts if c not in found)
    return tuple(found)


# Words that say only that something is liked best ("favourite", "préféré", "Lieblings-"): they say which fact is
# asked for, not what it is about. "Quel est mon film préféré ?" is not answered by "Je préfère le thé".
PREFERENCE_WORDS = frozenset(fold(w) for w in """favourite favourites favorite favorites prefer prefers preferred
    preference like likes love loves lieblings bevorzuge bevorzugt mag prefere preferes preferee preferees prefer
    favori favoris favorite prefiero prefiere preferido preferida preferidos favorito favorita prefiro""".split())


@dataclass(frozen=True)
class Category:
    """An everyday kind of thing: the words that name it and its common members, in the five languages."""

    name: str
    words: frozenset[str]
    members: frozenset[str]
    accented: re.Pattern | None = None  # members whose folded form is a function word: "thé" is not "the"

    def named_in(self, word_set: "WordSet", raw: str) -> bool:
        return bool(self.members & word_set.items) or bool(self.accented and self.accented.search(raw))


def _folded(text: str) -> frozenset[str]:
    return frozenset(fold(w) for w in text.split())


def _category(name: str, words_text: str, members_text: str) -> Category:
    members = members_text.split()
    plain = frozenset(fold(m) for m in members if fold(m) not in STOPWORDS)
    accented = [re.escape(m) for m in members if fold(m) in STOPWORDS and fold(m) != m]
    pattern = re.compile(r"(?<!\w)(" + "|".join(accented) + r")(?!\w)", re.IGNORECASE) if accented else None
    return Category(name, _folded(words_text), plain, pattern)


_ANTIBIOTICS = """penicillin penicillins amoxicillin amoxicilline amoxicilina azithromycin doxycycline ciprofloxacin
    clarithromycin erythromycin cephalexin cefalexin tetracycline flucloxacillin clindamycin metronidazole
    sulfonamide sulfonamides sulfa penicilline penizillin penicilina penicilinas amoxicillina"""
_MEDICINES = _ANTIBIOTICS + """ ibuprofen ibuprofeno paracetamol acetaminophen aspirin aspirine aspirina codeine
    codein codeina morphine morphin morfina tramadol naproxen diclofenac insulin insuline insulina metformin
    metformina statin statins atorvastatin simvastatin omeprazole cetirizine loratadine antihistamine
    antihistamines levothyroxine warfarin heparin salbutamol ventolin inhaler prednisone cortisone ritalin
    sertraline fluoxetine melatonin nurofen panadol novalgin metamizol dafalgan doliprane"""
CATEGORIES: tuple[Category, ...] = (
    _category("antibiotic", """antibiotic antibiotics antibiotika antibiotikum antibiotique antibiotiques
        antibiotico antibioticos""", _ANTIBIOTICS),
    _category("medicine", """medicine medicines medication medications meds drug drugs pill pills tablet tablets
        painkiller painkillers medikament medikamente arznei arzneimittel tablette tabletten schmerzmittel medicament
        medicaments cachet cachets comprime comprimes medicamento medicamentos remedio remedios pastilla pastillas
        comprimido comprimidos""", _MEDICINES),
    _category("food", """food foods dish dishes meal meals lebensmittel essen gericht speise nourriture aliment
        aliments plat plats comida comidas alimento alimentos plato platos prato pratos""", """peanut peanuts nut nuts
        almonds walnuts cashews hazelnuts gluten wheat dairy lactose milk egg eggs shellfish shrimp prawns fish
        seafood pork beef chicken lamb meat cheese bread pasta rice soy soya sesame celery mustard strawberries kiwi
        tomatoes mushrooms garlic onions chocolate pizza sushi curry tacos erdnuss erdnüsse nüsse haselnüsse milch
        eier fisch meeresfrüchte schweinefleisch rindfleisch fleisch käse brot nudeln reis arachide arachides
        cacahuète cacahuètes noix lait œuf œufs oeufs poisson porc bœuf boeuf poulet viande fromage pâtes riz
        cacahuate maní nueces leche huevo huevos pescado marisco mariscos cerdo carne queso arroz amendoim
        amendoins nozes leite ovo ovos peixe porco frango queijo pão"""),
    _category("drink", """drink drinks drinking beverage beverages boire bois boit buvez boisson boissons trinken
        trinke trinkst trinkt getränk getränke beber bebo bebes bebe bebida bebidas""", """tea coffee water beer
        wine juice milk cola soda lemonade whisky whiskey gin vodka rum espresso latte cappuccino matcha kombucha
        cider thé café eau bière vin jus lait tee kaffee wasser bier wein saft milch té agua cerveza vino zumo
        leche chá água cerveja vinho sumo suco leite"""),
    _category("sport", """sport sports sportart sportarten deporte deportes desporto esporte esportes""", """running
        jogging tennis football soccer basketball swimming swim cycling biking climbing bouldering yoga pilates golf
        rugby cricket volleyball badminton squash hiking skiing snowboarding boxing rowing surfing skating karate
        judo handball hockey crossfit fußball schwimmen schwimme laufen laufe joggen klettern klettere radfahren
        wandern rudern courir natation vélo escalade randonnée aviron correr corro natación fútbol baloncesto
        ciclismo senderismo corrida natação futebol basquete caminhada"""),
    _category("instrument", """instrument instruments instrumente instrumento instrumentos""", """piano guitar violin
        viola cello drums flute saxophone trumpet trombone clarinet ukulele harp accordion oboe banjo mandolin
        klavier gitarre geige schlagzeug flöte trompete klarinette guitare violon violoncelle batterie flûte
        trompette clarinette guitarra violín violonchelo batería flauta trompeta clarinete violão violino
        violoncelo"""),
    _category("language", """language languages sprache sprachen langue langues idioma idiomas lengua lenguas
        língua línguas""", """english german french spanish portuguese italian dutch polish russian ukrainian
        japanese chinese mandarin cantonese korean arabic turkish greek swedish norwegian danish finnish hindi
        englisch deutsch französisch spanisch portugiesisch italienisch niederländisch polnisch russisch japanisch
        chinesisch anglais allemand français espagnol portugais italien néerlandais polonais russe japonais
        chinois inglés alemán francés español portugués italiano holandés polaco ruso japonés chino inglês
        alemão espanhol"""),
    _category("pet", """pet pets animal animals haustier haustiere tier tiere animaux mascota mascotas animales""",
              """dog dogs puppy cat cats kitten hamster rabbit rabbits parrot budgie horse tortoise turtle hund hunde
        katze katzen kaninchen pferd chien chiens lapin cheval perro perros gato gatos conejo caballo cão cães
        cachorro gata coelho cavalo"""),
)
_CATEGORY_OF: dict[str, list[Category]] = {}
for _category in CATEGORIES:
    for _word in _category.words:
        _CATEGORY_OF.setdefault(_word, []).append(_category)


@lru_cache(maxsize=20_000)
def categories_of(word: str) -> tuple[Category, ...]:
    """The categories ``word`` (folded) names ("antibiotics", "instrumento"), forms of a word included."""
    found = list(_CATEGORY_OF.get(word, ()))
    if not found and len(word) >= 4:
        for other, categories in _CATEGORY_OF.items():
            if same_word(word, other):
                found.extend(c for c in categories if c not in found)
    return tuple(found)


def holds_member(word: str, word_set: "WordSet", raw: str) -> bool:
    """Whether ``word_set`` (the words of ``raw``) names a member of a category ``word`` names: "penicillin" for
    "antibiotic"."""
    return any(category.named_in(word_set, raw) for category in categories_of(word))


# -- what an answer looks like ------------------------------------------------------------------------------------

_MONTHS = (r"jan(uary|vier|uar|eiro)?|feb(ruary|ruar)?|f[ée]vrier|fevereiro|febrero|mar(ch|s|zo|ço|co)?|m[äa]rz|"
           r"apr(il)?|avril|abril|may|mai|mayo|maio|jun[ei]?|juin|junio|junho|jul[iy]?|juillet|julio|julho|"
           r"aug(ust)?|ao[uû]t|agosto|sep(t(ember)?)?|septembre|septiembre|setembro|oct(ober)?|okt(ober)?|octobre|"
           r"octubre|outubro|nov(ember|embre|iembre|embro)?|dec(ember)?|dez(ember|embro)?|d[ée]cembre|diciembre")
_WEEKDAYS = (r"mon(day)?s?|tue(s(day)?)?s?|wed(nesday)?s?|thu(rs(day)?)?s?|fri(day)?s?|sat(urday)?s?|sun(day)?s?|"
             r"montags?|dienstags?|mittwochs?|donnerstags?|freitags?|samstags?|sonntags?|lundi|mardi|mercredi|jeudi|"
             r"vendredi|samedi|dimanche|lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bado|domingos?|"
             r"segunda|ter[çc]a|quarta|quinta|sexta(-feira)?")
_COUNT = (r"a|an|one|two|three|four|five|six|seven|eight|ten|a few|a couple of|\d{1,2}|zwei|drei|vier|f[üu]nf|sechs|"
          r"einer|einem|deux|trois|quatre|cinq|une?|dos|tres|cuatro|cinco|duas|dois|tr[eê]s|quatro")
_UNITS = r"days?|weeks?|months?|tagen|wochen?|monaten?|jours?|semaines?|mois|d[ií]as?|semanas?|mes(es)?|meses"
_RELATIVE = (rf"(in|dans|en|em|daqui a)\s+({_COUNT})\s+({_UNITS})|"
             # A day of the month without its month: "on the 14th", "am 14.", "le 14", "el día 14", "no dia 14".
             r"the\s+\d{1,2}(st|nd|rd|th)(?=\s*(of|to|at|from|between|and|for)\b|\s*[,.;:!?)]|\s*$)|am\s+\d{1,2}\.(?!\d)|"
             r"(le|el|el d[ií]a|dia)\s+\d{1,2}(?![\d.,:%h])(?!\s*(rue|av|bd|boulevard|calle|rua|place|plaza)\b)|"
             r"today|tonight|tomorrow|yesterday|weekend|morning|evening|night|noon|midnight|"
             r"next (week|month|year)|last (week|month|year)|ago|heute|morgen|gestern|abends?|uhr|"
             r"aujourd'hui|demain|hier|soir|matin|hoy|mañana|ayer|noche|hoje|amanh[ãa]|ontem|noite")
TIME_EXPRESSION = re.compile(
    rf"\b(\d{{1,2}}[:.h]\d{{2}}|\d{{1,2}}:(\d[Oo]|[Oo]\d)\b|\d{{1,2}}\s?(am|pm|h|uhr)\b|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}|"
    rf"(19|20)\d\d|{_MONTHS}|{_WEEKDAYS}|{_RELATIVE}|"
    rf"(every|each|jeden|jede|chaque|cada|todos los|todas as)\s+\w+|"
    rf"(since|seit|depuis|desde|until|bis|by|before|after|due|deadline)\b)",
    re.IGNORECASE,
)
_NUMBER_WORDS = (r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|"
                 r"first|second|third|fourth|fifth|once|twice|ein|eine|zwei|drei|vier|f[üu]nf|sechs|sieben|acht|neun|"
                 r"zehn|un|une|deux|trois|quatre|cinq|sept|huit|neuf|dix|uno|dos|tres|cuatro|cinco|seis|siete|ocho|"
                 r"nueve|diez|um|uma|dois|duas|tr[êe]s|quatro|sete|oito|nove|dez")
NUMBER = re.compile(rf"(?<![A-Za-z])\d|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
# An amount of money: a currency with a number, or a number written as prices are (12,900 / 1.040,00 / 180k).
MONEY_AMOUNT = re.compile(
    r"[€$£¥]\s?\d|\d[\d.,']*\s?(€|\$|£|k\b|eur\b|euros?\b|usd\b|dollars?\b|gbp\b|pounds?\b|quid\b|chf\b|francs?\b|"
    r"kr\b|sek\b|nok\b|dkk\b|pln\b|zł|reais\b|r\$)|(?<![\d.,])\d{1,3}(,\d{3})+(?![\d,])|\b\d+[.,]\d{2}\b",
    re.IGNORECASE,
)
_CLOCK_OR_DAY = re.compile(r"\b\d{1,2}[:.h]\d{2}\b|\b\d{1,2}\s?(am|pm|uhr|h)\b", re.IGNORECASE)
FREQUENCY = re.compile(
    r"\b(every|each|per|once|twice|daily|weekly|monthly|yearly|annually|a (day|week|month|year)|alle|jede[nrs]?|"
    r"t[äa]glich|w[öo]chentlich|monatlich|j[äa]hrlich|pro|chaque|tous les|toutes les|par (jour|semaine|mois|an)|cada|"
    r"todos los|todas las|al (d[ií]a|mes|a[ñn]o)|por (d[ií]a|semana|m[eê]s|ano)|todos os|todas as|vez|veces|vezes|"
    r"times|mal)\b",
    re.IGNORECASE,
)
# A name: a capitalised word (or one with a capital inside, "FRITZ!Box", "ThinkPad") that is not a function word.
_CAPITAL = re.compile(r"(?<![\w'’])[A-ZÀ-Þ][\w'’!&.-]*[\w]|(?<![\w'’])[a-z]+[A-Z][\w]*")
PATH_OR_LINK = re.compile(r"(~?/[\w.-]+/[\w./-]*|https?://\S+|\b[\w-]+\.(com|org|net|de|fr|es|pt|io|pdf|docx?|odt|ods|xlsx?|csv|txt)\b"
                          r"|[\w.+-]+@[\w-]+\.[\w.]+)")
STEPS = re.compile(
    r"(\bthen\b|\bfirst\b|\bfinally\b|\bnext\b|\bafter that\b|\bzuerst\b|\bdann\b|\bdanach\b|\bzum schluss\b|"
    r"\bd'abord\b|\bensuite\b|\bpuis\b|\benfin\b|\bprimero\b|\bluego\b|\bdespu[ée]s\b|\bpor [úu]ltimo\b|"
    r"\bprimeiro\b|\bdepois\b|\bem seguida\b|\bpor fim\b|^\s*\d+[.)]\s|[$❯#]\s*\w+|;)",
    re.IGNORECASE | re.MULTILINE,
)


MONTH_START = re.compile(rf"({_MONTHS})\b", re.IGNORECASE)  # a text that starts with a month's name
DAY_MENTION = re.compile(
    rf"\b({_WEEKDAYS})\b|\b\d{{1,2}}\.?\s*(de\s+)?({_MONTHS})\b|\b({_MONTHS})\.?\s+\d{{1,2}}\b|\d{{4}}-\d{{2}}-\d{{2}}|"
    rf"\b\d{{1,2}}[./]\d{{1,2}}[./]\d{{2,4}}\b",
    re.IGNORECASE,
)


# Words that start a chat reply with a capital without naming anyone.
COMMON_STARTERS = frozenset(words("""true yes yeah yep no nope ok okay sure thanks thank good great nice right well hmm
    oh ah also anyway and but so just maybe actually really sounds fine cool haha lol please sorry oops wow hey hi
    hello reminder update correction note btw fyi anyway nah yup meh ugh lol omg hah"""))
QUANTITY = re.compile(
    r"[€$£¥]\s?\d|\d[\d.,]*\s?(%|€|\$|£|k\b|mg\b|g\b|kg\b|km\b|m\b|cm\b|°\s?c\b|ml\b|l\b|min(ute)?s?\b|minut[eo]s?\b|"
    r"h\b|hours?\b|stunden?\b|heures?\b|horas?\b|days?\b|tage?n?\b|jours?\b|d[ií]as\b|weeks?\b|wochen?\b|"
    r"semaines?\b|semanas?\b|months?\b|monate?n?\b|mois\b|mes(es)?\b|years?\b|jahre?n?\b|ans?\b|a[ñn]os?\b|"
    r"pounds?\b|euros?\b|dollars?\b|eur\b|usd\b|gbp\b|chf\b|times\b|mal\b|fois\b|veces\b|vezes\b)",
    re.IGNORECASE,
)
_PERSON = re.compile(r"(?<![\w'’])[A-ZÀ-Þ][a-zà-ÿ'’-]+\s+[A-ZÀ-Þ][a-zà-ÿ'’-]+")


PLACE = re.compile(
    r"\b(in|at|on|near|from|bei|im|am|an der|in der|à|au|aux|dans|chez|près de|en|na|no|em|cerca de)\s+"
    rf"(the\s+|der\s+|la\s+|le\s+|el\s+|o\s+|a\s+)?(?!(?i:{_MONTHS}|{_WEEKDAYS})\b)[A-ZÀ-Þ]|(?i:\b\d+[a-z]?,?\s+(rue|calle|rua|via|avenida|av\.)\b|"
    r"\b(road|street|lane|avenue|square|straße|strasse|str\.|weg|platz|allee|gasse|ring|boulevard|calle|avenida|rua|"
    r"praça|plaza)\b)",
)


# Kinds of place: "which city am I in?" is answered by "in Rotterdam", which need not say "city".
PLACE_KINDS = frozenset(fold(w) for w in """city cities town towns village country countries place places
    neighbourhood neighborhood area region stadt ort land dorf viertel ville pays village quartier region ciudad
    pueblo pais barrio cidade pais bairro""".split())


# "in Rotterdam", "à Lyon", "bei Hamburg": a preposition of place before a name that is not a month or a weekday.
IN_PLACE = re.compile(
    rf"\b(in|at|near|from|bei|in der|à|au|dans|près de|en|em|cerca de)\s+(the\s+|der\s+|la\s+|le\s+|el\s+|o\s+)?"
    rf"(?!(?i:{_MONTHS}|{_WEEKDAYS})\b)[A-ZÀ-Þ]"
)


def quantity_text(text: str) -> str:
    """``text`` without its dates and clock times, whose numbers are not amounts."""
    return _CLOCK_OR_DAY.sub(" ", DAY_MENTION.sub(" ", text or ""))


_NAME_RUN = re.compile(r"(?<![\w'’])[A-ZÀ-Þ][\w'’!&+.-]*(?:\s+(?:(?:du|de|des|del|da|do|dos|von|van|der|la|le)\s+)?"
                       r"[A-ZÀ-Þ][\w'’!&+.-]*)*")
_GERMAN = frozenset("ich ist mein meine wie wo wann was wer welche welcher der die das den dem ein eine bis und nicht".split())


def name_groups(text: str) -> list[list[str]]:
    """The names ``text`` mentions, each as its words (folded): "Restos du Cœur" is one name.

    The first word of the text, German nouns (all capitalised), months and weekdays are not names.
    """
    body = (text or "").strip().lstrip("¿¡\"'“ ")
    if len(set(words(body)) & _GERMAN) >= 2:
        return []
    first = re.match(r"\S+", body)
    start = first.end() if first else 0
    out = []
    for match in _NAME_RUN.finditer(body, start):
        group = [w for w in words(match.group()) if w not in STOPWORDS and w not in COMMON_STARTERS and len(w) >= 2
                 and not _CALENDAR_WORD.match(w)]
        if group:
            out.append(group)
    return out


_CALENDAR_WORD = re.compile(rf"^({_MONTHS}|{_WEEKDAYS})$", re.IGNORECASE)


def names_in(text: str) -> list[str]:
    """Capitalised words of ``text`` that are not function words (folded): the names it mentions.

    A word that only starts a reply ("True, I'll text them") is not a name, nor is a month or a weekday.
    """
    out = []
    for match in _CAPITAL.finditer(text or ""):
        for word in words(match.group()):
            if (word not in STOPWORDS and word not in COMMON_STARTERS and len(word) >= 2 and not word.isdigit()
                    and not _CALENDAR_WORD.match(word)):
                out.append(word)
    return out


def person_names_as_written(text: str) -> list[str]:
    """First-and-last names in ``text`` as written ("Bruno Costa")."""
    return [m.group() for m in _PERSON.finditer(text or "")]


def person_names(text: str) -> list[str]:
    """First-and-last names (two capitalised words in a row) in ``text``, folded."""
    return [fold(m.group()) for m in _PERSON.finditer(text or "")]


_CLOCK_START = re.compile(r"^\W*\d{1,2}[:.h][\dOo]{2}\b")


def looks_like_menu(text: str) -> bool:
    """A line of capitalised words and no sentence: a toolbar or menu read by OCR."""
    tokens = re.findall(r"[^\W\d_][\w!&'’-]*", text or "")
    if len(tokens) < 4 or re.search(r"[.!?,:;]\s", text + " "):
        return False
    if _CLOCK_START.match(text or ""):
        return False  # "09:3O Physiotherapy - Dr Okonkwo": an entry of a calendar, not its menu
    capitalised = sum(1 for t in tokens if t[0].isupper())
    return capitalised / len(tokens) >= 0.75
