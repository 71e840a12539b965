"""Facts the user states, by rule: who they are (core) and about whom or what (semantic).

Only the user's own chat messages are read here (``provenance.is_users_own``);
questions, requests and hypothetical clauses ("if I ever ...", "I might ...",
"vielleicht ...") state nothing and are skipped (``core.absorb.text``).

**Core.**  Each clause of a statement is matched against the patterns of five
fact families, in five languages (and the everyday first-person phrases of
Italian, Dutch, Polish, Swedish, Turkish, romanised Japanese and Hindi): ``health`` (allergies, intolerances, diet,
conditions, medication), ``work`` (job, employer, what one teaches or runs),
``home`` (where one lives, one's address, a move), ``identity`` (name,
nickname, where one is from) and ``preferences`` (likes, dislikes, habits,
routines, what one uses, joins or learns).  A clause that matches no family
goes with the one before it ("I'm a nurse, night shifts mostly, at St
Vincent's"), so a family's line is the user's own words, verbatim.  Each
family is its own core memory (label ``identity``, ``work``, ...), so a change
replaces that family's line and nothing else (see ``core.absorb.updates``).

**Semantic.**  People, pets, organisations, places and projects the user
names: a relation word and a name ("my aunt Rosa", "Mein Bruder Jonas", "A
minha mãe, Fernanda,", "Our landlord is Mr. Adeyemi", "Amira is my best
friend", "her partner Dev"), a title and a name ("Dr. Lindqvist"), a name as
the subject of a verb ("Siobhan is coeliac", "Nadia handles the backend",
"Casa Lucio tiene ..."), a name the user joined or is with ("the Harbour
Rowing Club", "is with Allianz") and a name being defined ("Project Atlas is
the ...").  A sentence that starts with a pronoun ("He lives downstairs")
belongs to the person named just before; sentences that follow a definition
in the same message (or in the user's next message, a few minutes later)
belong to what was defined.  Each entity is one semantic memory named after
it, whose lines are the user's sentences about it.

A request or a question states nothing, but a relation it names does ("help
me write to my landlady Mrs Brennan-Lowe": the phrase "my landlady Mrs
Brennan-Lowe" is kept).  A short reply to an assistant's question about a named
person ("And what does Kwame do?" – "nurse, nights at St Brigid's") is about
that person, not the user; a name given for "What's your partner's name?" is
that relation's name.

A named speaker in an imported group chat (``meta.speaker``) speaks for
themselves: their statements about themselves become semantic memories about
them, never core memory.
"""

from __future__ import annotations

import re
from datetime import datetime
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from core.absorb import lookups, provenance, text as tx, updates
from core.absorb.candidates import MAX_SENTENCE_CHARS, Candidate
from core.absorb.dates import event_dates
from core.absorb.provenance import speaker_of

FAMILIES = ("health", "work", "workplace", "home", "identity", "preferences", "personal")
# One employer, one home, one way of working (remote, hybrid, in the office): a new one replaces the old.
SINGLE_VALUED = frozenset({"work", "workplace", "home"})
TOPIC_FOLLOW_SECONDS = 15 * 60  # the user's next message still speaks of what they just defined
MIN_TURN_WORDS = 5  # a group-chat turn with fewer content words of its own is small talk ("Wow, that's great!")

_I = r"(?:i|i['’]m|im|i\s+am|i['’]ve|i\s+have|i['’]ll|we|we['’]re|we\s+are|we['’]ve|ich|wir|je|j['’]|nous|on|yo|eu|nós)"
_IM = r"(?:i['’]m|im|i\s+am)"

_P = {
    "health": [
        rf"\b{_IM}\s+(?:no\s+longer\s+|not\s+)?(?:\w+\s+){{0,2}}(?:allergic|intolerant|vegetarian|vegan|pescatarian|coeliac|celiac|diabetic|"
        r"pregnant|asthmatic|epileptic|sober|teetotal|lactose|gluten|anaemic|anemic|on\s+(?:medication|meds|a\s+diet))",
        # "my doctor said ...", not "my GP is Dr Haddad" / "that's my GP": the doctor is a person (semantic memory).
        r"\bmy\s+(?:allerg\w*|intolerance|diet|medication|meds|prescription|condition|blood\s+type)\b|"
        r"\bmy\s+(?:doctor|gp)\s+(?!(?:is|was)\b)(?-i:[a-z])",
        r"\bi\s+(?:have|suffer\s+from|was\s+diagnosed\s+with|live\s+with)\s+(?:(?:a|an|mild|severe|chronic|bad|"
        r"type\s+\d|some)\s+)*(?:asthma|diabetes|allerg\w*|migraines?|epilepsy|eczema|psoriasis|adhd|anxiety|"
        r"depression|hypertension|high\s+blood\s+pressure|coeliac|celiac|crohn['’]?s|ibs|arthritis|insomnia|tinnitus|"
        r"\w+itis|\w+emia|\w+osis|\w+pathy)\b",
        r"\bi\s+(?:take|am\s+taking|['’]m\s+taking|use)\s+\d+\s*(?:mg|mcg|µg|ml|iu|units?)\b",
        r"\b(?:i['’]m|i\s+am|i)\b.{0,30}?\b\d+(?:[.,]\d+)?\s*(?:mg|mcg|µg|ml|iu)\b",
        r"\bi\s+(?:take|am\s+on)\s+(?:\w+\s+)?(?:medication|tablets|pills|insulin|inhaler|antidepressants?)\b",
        r"\bi(?:['’]ve|\s+have)\s+(?:got\s+|been\s+diagnosed\s+with\s+)(?:(?:a|an|mild|severe|chronic)\s+)?[\w'’-]+(?:\s+[\w'’-]+)?\s+"
        r"(?:disease|syndrome|disorder|allergy|intolerance|condition)\b|\bi(?:['’]ve|\s+have)\s+got\s+(?:asthma|diabetes|"
        r"migraines?|epilepsy|eczema|arthritis|\w+itis)\b",
        r"^\W*(?:(?:also|and|so|now|i['’]ve|i\s+have|ive)\s+)*been\s+(?:\w+\s+)?(?:vegetarian|vegan|pescatarian|"
        r"sober|teetotal|gluten-free|dairy-free|alcohol-free|off\s+alcohol|diabetic|coeliac|celiac)\b",
        r"\b(?:i['’]m|i\s+am|i['’]ve\s+been|i\s+have\s+been)\s+(?:\w+\s+)?(?:sober|teetotal|alcohol-free|off\s+alcohol)\b|"
        r"^\W*no\s+(?:alcohol|meat|dairy|gluten|sugar|caffeine|pork|fish|nuts)\s+for\s+me\b",
        r"\bi\s+(?:don['’]t|do\s+not|never|can['’]t|cannot)\s+(?:eat|drink|have|tolerate)\s+(?:any\s+)?"
        r"(?:meat|fish|pork|beef|dairy|milk|gluten|wheat|nuts|peanuts|eggs|alcohol|sugar|caffeine|shellfish|seafood)\b",
        r"\b(?:allergisch|unverträglich|intoleranz|zöliakie|laktoseintoleran\w*)\b",
        r"\b(?:ich\s+(?:bin|lebe)|lebe\s+ich)\s+(?:\w+\s+){0,4}?(?:vegan|vegetarisch|vegetarier\w*|diabetiker\w*|"
        r"schwanger|allergiker\w*)\b",
        r"\b(?:trinke|esse|rauche)\s+ich\s+(?:\w+\s+){0,4}?(?:kein\w*|nicht|nie)\b|\bich\s+(?:trinke|esse|rauche)\s+"
        r"(?:\w+\s+){0,3}?(?:kein\w*|nicht|nie)\b",
        r"\bich\s+(?:habe|hab)\s+(?:[\w-]+\s+)?[\w-]*(?:asthma|diabetes|migräne|allergie\w*|neurodermitis|zöliakie|"
        r"bluthochdruck|epilepsie|rheuma)\b",
        r"\bich\s+nehme\s+\d+\s*mg\b",
        r"\bje\s+(?:ne\s+)?suis\s+(?:plus\s+|pas\s+)?(?:\w+\s+)?(?:allergique|intolérant\w*|végétarien\w*|végan\w*|vegan\w*|cœliaque|coeliaque|"
        r"diabétique|enceinte|asthmatique)\b",
        r"\bj['’]ai\s+(?:de\s+l['’]|une?\s+|du\s+)?(?:asthme|diabète|allergie\w*|migraines?|eczéma)\b",
        r"\bje\s+ne\s+(?:mange|bois)\s+(?:pas|plus|jamais)\b",
        r"\b(?:soy|estoy)\s+(?:\w+\s+)?(?:alérgic[oa]|celíac[oa]|vegetarian[oa]|vegan[oa]|diabétic[oa]|"
        r"intolerante|embarazada|asmátic[oa])\b",
        r"\btengo\s+(?:\w+\s+)?(?:asma|diabetes|alergia\w*|migrañas?)\b",
        r"\bno\s+(?:como|bebo|tomo)\s+(?:nada\s+de\s+)?(?:carne|pescado|gluten|lácteos|leche|alcohol|azúcar)\b",
        r"\b(?:sou|estou)\s+(?:\w+\s+)?(?:alérgic[oa]|celíac[oa]|vegetarian[oa]|vegan[oa]|diabétic[oa]|intolerante|"
        r"grávida|asmátic[oa])\b",
        r"\btenho\s+(?:\w+\s+)?(?:asma|diabetes|alergia\w*|enxaquecas?)\b",
        r"\bnão\s+(?:como|bebo|tomo)\s+(?:carne|peixe|glúten|lacticínios|leite|álcool|açúcar)\b",
    ],
    "work": [
        r"\bi\s+(?:also\s+|now\s+|still\s+|currently\s+)?(?:work|worked|am\s+working|['’]m\s+working)\s+"
        r"(?:(?:full|part)[\s-]time\s+)?(?:at|for|in|as|with|from\s+home)\b",
        rf"\b{_IM}\s+(?:now\s+|currently\s+|still\s+)?(?:a|an)\s+(?:[\w-]+\s+){{0,3}}?(?:at|for|with|@|in\s+the)\s+\S",
        rf"\b{_IM}\s+(?:now\s+|currently\s+|still\s+)?(?:a|an)\s+(?:[\w-]+\s+){{0,2}}?(?:nurse|doctor|teacher|engineer|"
        r"developer|dev|designer|manager|architect|lawyer|accountant|student|freelancer|consultant|writer|journalist|"
        r"chef|cook|pharmacist|programmer|analyst|researcher|scientist|professor|lecturer|electrician|plumber|"
        r"carpenter|mechanic|pilot|baker|artist|musician|photographer|editor|translator|therapist|psychologist|"
        r"dentist|vet|paramedic|firefighter|officer|clerk|cashier|receptionist|auditor|banker|farmer|tutor|coach|"
        r"trainer|midwife|surgeon|physician|technician|administrator|director|founder|ceo|cto|intern|volunteer|"
        r"\w+(?:er|or|ist|ian))\b",
        rf"\b{_IM}\s+(?:retired|unemployed|self-employed|freelance|between\s+jobs)\b",
        r"\bi\s+(?:teach|lecture)\s+\w+|\bi\s+(?:run|own|manage|lead|founded|started)\s+(?:a|an|my|our|the)\s+(?:[\w-]+\s+){0,3}?"
        r"(?:studio|shop|store|business|company|firm|practice|agency|restaurant|café|cafe|bakery|bar|team|department|"
        r"school|clinic|startup|lab|office|workshop|salon|gallery)\b",
        r"\bmy\s+(?:job|employer|company|role|position|profession|occupation)\s+(?:is|was)\b",
        r"^\W*(?:(?:a|an)\s+)?(?:[\w-]+\s+)?(?:backend|frontend|software|product|data|web|ux|ui|sales|marketing|project|"
        r"account|senior|junior|lead)\s+(?:dev|developer|engineer|designer|manager|analyst|lead|scientist)\b",
        r"\bmy\s+last\s+day\s+at\b|\bi\s+left\s+(?:the\s+company|my\s+job|[A-Z]\w+)|\bi\s+(?:quit|joined)\s+(?:my\s+job|as\b)",
        r"\bnew\s+job\b|\bstarted\s+(?:a\s+new\s+job|working)\b",
        r"\bi(?:['’]ve|\s+have)?\s+(?:just\s+|recently\s+)?(?:started|began|joined)\b.{0,40}?\b(?:as\s+(?:a|an)\b|at\s+[A-Z]|with\s+[A-Z])",
        r"\b(?:estou\s+a\s+trabalhar|estoy\s+trabajando|je\s+bosse|ich\s+jobbe)\b",
        r"\bi\s+(?:made|make|earn|earned|earning)\b.{0,40}\b(?:from|as|with|doing)\b|\b(?:i|i['’]m|my)\b.{0,30}\b"
        r"(?:freelanc\w*|self-employed|side\s+(?:job|hustle|gig))\b",
        r"\bich\s+(?:arbeite|jobbe)\s+(?:\w+\s+){0,3}?(?:bei|als|in|im|für|an\s+der|am)\b|\bich\s+unterrichte\b|"
        r"\barbeite\s+ich\s+(?:\w+\s+)?(?:bei|als|in|im|für)\b|"
        r"\bmein\s+(?:job|arbeitgeber|beruf|chef)\b|\bich\s+bin\s+(?:\w+\s+)?(?:\w+(?:in|er|ent|eur|ist|ant))\s+"
        r"(?:bei|im|an\s+der|am|in\s+der)\b",
        r"\bje\s+travaille\s+(?:\w+\s+)?(?:chez|à|au|pour|comme|dans|en)\b|\bj['’]enseigne\b|"
        r"\bje\s+suis\s+(?:\w+\s+){1,2}?(?:chez|à\s+l['’]|au|pour)\b|\bmon\s+(?:travail|boulot|employeur|job|patron)\b|"
        r"\bje\s+(?:ne\s+)?suis\s+(?:plus\s+|pas\s+)?(?:un\s+|une\s+)?(?:architecte|ingénieur\w*|infirmi\w+|médecin|professeur\w*|enseignant\w*|"
        r"développeu\w+|avocat\w*|comptable|étudiant\w*|bénévole|journaliste|graphiste|designer|cuisinier\w*)\b",
        r"\btrabajo\s+(?:\w+\s+)?(?:en|para|como|de)\b|\benseño\b|\bmi\s+(?:trabajo|jefe|empresa)\b|"
        r"\bsoy\s+(?:\w+\s+){1,2}?(?:en|de)\s+[A-Z]|\bsoy\s+(?:profesor\w*|ingenier\w+|enfermer\w+|médic\w+|abogad\w+|"
        r"arquitect\w+|estudiante|diseñador\w*|desarrollador\w*|camarer\w+|voluntari\w+)\b",
        r"\btrabalho\s+(?:\w+\s+)?(?:na|no|em|numa|num|para|como|de)\b|\bensino\b|\b(?:o\s+)?meu\s+(?:trabalho|emprego|chefe)\b|"
        r"\bsou\s+(?:o\s+\w+\s+\w+,\s+)?(?:\w+\s+){0,2}?(?:engenheir\w+|professor\w*|enfermeir\w+|médic\w+|"
        r"advogad\w+|arquitet\w+|estudante|designer|programador\w*|voluntári\w+)\b",
    ],
    "home": [
        r"\b(?:i|we)\s+(?:now\s+|currently\s+|still\s+|also\s+)?live\s+(?:now\s+)?(?:in|at|near|on|outside|just|right|by)\b",
        r"\b(?:i['’]m|i\s+am|we['’]re|we\s+are)\s+(?:now\s+)?based\s+(?:in|near|out\s+of)\b",
        r"\b(?:i|we)\s+(?:just\s+|recently\s+|finally\s+)?moved\s+(?:to|into|from|house|flat|out)\b|^\W*we\s+moved\b",
        r"\b(?:i|we)\s+commute\s+from\b",
        r"\bmy\s+(?:new\s+)?(?:home|flat|apartment|house|place)\s+is\s+(?:in|at|near|on)\b",
        r"\b(?:my|our)\s+(?:new\s+)?(?:home\s+|postal\s+|delivery\s+)?address\b|"
        r"\b(?:new|neue|nouvelle|nueva|nova)\s+(?:home\s+)?(?:address|adresse|anschrift|dirección|morada|endereço)\s+"
        r"(?:is|ist|lautet|est|es|é)\b|"
        r"^\W*(?:(?:new|neue|nouvelle|nueva|nova)\s+)?(?:home\s+)?(?:address|adresse|anschrift|dirección|morada|endereço)"
        r"(?:\s+(?:since|from|as\s+of|ab|seit|depuis|dès|à\s+partir\s+d[eu]|desde|a\s+partir\s+de)\s+[\w.]+(?:\s+\d{1,4})?)?\s*:",
        r"\b(?:i['’]m|i\s+am)\s+staying\s+in\s+[A-Z]",
        r"\b(?:i|we)(?:['’]re|\s+are|['’]m|\s+am)\s+(?:now\s+)?(?:renting|living)\s+(?:(?:a|an)\s+[\w-]+\s+)?(?:in|at|near)\b|"
        r"^\W*(?:living|based)\s+in\s+[A-Z]",
        r"\b(?:ich\s+bin|wir\s+sind)\s+(?:\w+\s+){0,4}?(?:nach|in)\s+[^\W\d_][\w-]*\s+(?:\w+\s+)?(?:gezogen|umgezogen)\b|"
        r"\bje\s+me\s+suis\s+installée?\b|\bnous\s+nous\s+sommes\s+installés\b|\b(?:me\s+he|nos\s+hemos)\s+mudado\b",
        r"\b(?:ich|wir)\s+(?:wohne|wohnen|lebe|leben)\s+(?:\w+\s+){0,3}?(?:in|im|am|an\s+der|bei|nahe|direkt)\b|"
        r"\b(?:wohne|lebe)\s+ich\s+(?:\w+\s+){0,3}?(?:in|im|am|bei)\b|\b(?:wohnen|leben)\s+wir\s+(?:\w+\s+){0,3}?(?:in|im)\b|"
        r"\bumgezogen\b|\b(?:meine|unsere)\s+(?:neue\s+)?(?:adresse|anschrift)\b|\bich\s+ziehe\s+nach\b",
        r"\bj['’]habite\b|\b(?:nous\s+habitons|on\s+habite|je\s+vis\s+(?:à|en|au|dans))\b|"
        r"\b(?:j['’]ai|on\s+a|nous\s+avons)\s+déménagé\b|\b(?:ma|notre)\s+(?:nouvelle\s+)?adresse\b",
        r"\b(?:vivo|vivimos)\s+en\b|\b(?:me\s+mudé|nos\s+mudamos)\b|\b(?:mi|nuestra)\s+(?:nueva\s+)?dirección\b",
        r"\b(?:moro|moramos|vivo|vivemos)\s+(?:em|no|na|numa|num|perto)\b|\b(?:mudei-me|mudamo-nos|mudámos|mudamos)\b|"
        r"\b(?:a\s+)?(?:minha|nossa)\s+(?:nova\s+)?morada\b|\b(?:o\s+)?(?:meu|nosso)\s+(?:novo\s+)?endereço\b",
    ],
    "identity": [
        r"\bmy\s+name\s+is\b|\bmy\s+name['’]s\b|\bcall\s+me\s+[A-Z]|^\W*(?:the\s+)?name['’]s\s+[A-Z]|"
        r"\bi\s+go\s+by\s+[A-Z]|\b(?:people|everyone|everybody|friends|most\s+people)\s+call\s+me\s+[A-Z]|"
        r"\b(?:alle|man)\s+nennt?\s+mich\s+[A-Z]|\b(?:tout\s+le\s+monde|on)\s+m['’]appelle\s+[A-Z]|"
        r"\bme\s+(?:llaman|dicen|chamam)\s+[A-Z]|"
        r"^\W*this\s+is\s+[A-Z]\w+\s+(?:here|speaking)\b",
        rf"(?-i:\b(?:I['’]m|I\s+am|i['’]m)\s+{tx.NAME})",
        rf"(?-i:^(?:{tx.NAME})\s+here\b)",
        r"^\W*(?:hi|hey|hello|hallo|hola|olá|ola|salut|bonjour|ciao|moin|servus)\W+(?:i['’]m|im|i\s+am)\s+[a-z]\w+\s*$",
        rf"\b{_IM}\s+(?:originally\s+)?from\s+[A-Z]|\boriginally\s+from\b|\bi\s+grew\s+up\s+in\b|\bi\s+was\s+born\s+in\b",
        r"\bich\s+hei(?:ß|ss)e\b|\bmein\s+name\s+ist\b|(?-i:\b[Ii]ch\s+bin\s+(?:der\s+|die\s+)?[A-Z]\w+\s*$)|"
        r"\bich\s+komme\s+(?:ursprünglich\s+)?aus\b",
        r"\bje\s+m['’]appelle\b|\bmon\s+(?:pré)?nom\s+(?:est|c['’]est)\b|\bmoi\s+c['’]est\b|\bje\s+viens\s+de\b|"
        r"\bje\s+suis\s+originaire\b|(?-i:\b[Jj]e\s+suis\s+[A-Z]\w+\s*$)",
        r"\bme\s+llamo\b|\bmi\s+nombre\s+es\b|(?-i:\b[Ss]oy\s+(?:el\s+|la\s+)?[A-Z]\w+)|\bsoy\s+de\s+[A-Z]",
        r"\bchamo-me\b|\bme\s+chamo\b|\b(?:o\s+)?meu\s+nome\s+é\b|(?-i:\b[Ss]ou\s+(?:o\s+|a\s+)?[A-Z]\w+)|\bsou\s+de\s+[A-Z]",
    ],
    "preferences": [
        r"\b(?:i|we)\s+(?:really\s+|absolutely\s+|also\s+|still\s+|much\s+|do\s+|no\s+longer\s+|now\s+|(?:do\s+)?not\s+|"
        r"don['’]t\s+|never\s+)?(?:prefer|like|love|enjoy|adore|hate|"
        r"dislike|detest|can['’]t\s+stand|cannot\s+stand|don['’]t\s+(?:like|enjoy|mind)|do\s+not\s+like)\b",
        r"\bmy\s+(?:favou?rite|go-to)\b|\b(?:i|we)['’]d\s+(?:rather|prefer)\b|\bi\s+would\s+(?:rather|prefer)\b",
        r"\b(?:i['’]m|i\s+am)\s+(?:really\s+|very\s+|so\s+|quite\s+|totally\s+|a\s+(?:big|huge)\s+fan\s+of\b|big\s+)?into\b|"
        r"\b(?:i['’]m|i\s+am)\s+a\s+(?:big\s+|huge\s+)?fan\s+of\b",
        r"\b(?:i|we)\s+(?:always|usually|normally|often|never|rarely|mostly|generally|typically)\b",
        r"\b(?:i|we)\s+(?:\w+\s+){1,6}?(?:every|each)\s+(?:morning|evening|night|day|week|weekend|month|year|monday|"
        r"tuesday|wednesday|thursday|friday|saturday|sunday)\b",
        r"\b(?:i|we)\s+(?:drink|take|eat|have)\s+my\b|\bwhen\s+i\s+\w+,?\s+i\b|\b(?:these\s+days|nowadays)\s+i\b",
        r"\b(?:i|we)(?:['’]ve|\s+have)?\s+(?:just\s+)?(?:switched|changed|moved\s+over)\s+(?:from\s+[\w-]+\s+)?to\b|\b(?:i|we)(?:['’]ve|\s+have)?\s+(?:just\s+)?started\s+\w+ing\b",
        r"\b(?:i|we)\s+(?:just\s+)?joined\b|\b(?:i['’]m|i\s+am)\s+learning\b|\bi\s+(?:foster|own|adopted)\s+(?:a|an|two|three)\b",
        r"\b(?:i|we)\s+(?:use|play|listen\s+to|read|watch|wear|drive|ride|cycle|swim|run|train|meditate|knit|paint)\b",
        r"\b(?:i|we)\s+take\s+(?:a|an)\s+[\w-]+\s+(?:class|course|lesson)",
        r"\bi['’]m\s+(?:a\s+)?(?:light|heavy|early|night)\s+(?:sleeper|riser|owl)\b|\b(?:i['’]m|i\s+am)\s+(?:a\s+)?"
        r"(?:morning|night)\s+person\b",
        r"^\W*(?:(?:not|no)\s+(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of|(?:a\s+)?(?:big|huge)\s+fan\s+of|can['’]t\s+stand|"
        r"(?:really\s+)?(?:love|hate|adore|prefer|enjoy|dislike)\s+(?!you\b|it\b|that\b|this\b))",
        r"\bich\s+(?:mag|liebe|hasse|bevorzuge|trinke|esse|nutze|benutze|spiele|höre|lese|fahre|gehe|laufe|schwimme)\b|"
        r"\b(?:mag|liebe|hasse|bevorzuge|trinke|esse|nutze|benutze|spiele|höre|lese|fahre|laufe|schwimme)\s+ich\b|"
        r"\bam\s+liebsten\b|\b(?:lieber|immer|nie)\b|\bmein\w*\s+lieblings\w*|\bjeden\s+(?:morgen|tag|abend)\b",
        r"\bje\s+(?:préfère|n['’]aime\s+pas|déteste|adore|bois|mange|prends|joue|écoute|fais|cours|nage)\b|"
        r"\bj['’](?:aime|adore|utilise|écoute)\b|\b(?:préféré|préférée)\b|\b(?:toujours|jamais)\b",
        r"\b(?:me\s+encanta|me\s+encantan|me\s+gusta|me\s+gustan|prefiero|odio|detesto|no\s+me\s+gusta|tomo|bebo|uso|"
        r"juego|escucho|corro|nado)\b|\bmi\s+\w+\s+favorit[oa]\b|\b(?:siempre|nunca)\b",
        r"\b(?:prefiro|gosto\s+de|adoro|odeio|detesto|não\s+gosto|tomo|bebo|uso|jogo|ouço|corro|nado)\b|"
        r"\b(?:meu|minha)\s+\w+\s+favorit[oa]\b|\b(?:sempre|nunca)\b",
        # A lasting choice said as one: "changed my mind on seats, aisle from now on", "ab sofort nur noch Tee".
        r"\bfrom\s+now\s+on\b|\bchanged\s+my\s+mind\b|\bab\s+(?:jetzt|sofort)\b|\bvon\s+nun\s+an\b|"
        r"\bà\s+partir\s+de\s+maintenant\b|\bdésormais\b|\bdorénavant\b|\b(?:de|a\s+partir\s+de)\s+ahora\s+en\s+adelante\b|"
        r"\ba\s+partir\s+de\s+agora\b|\bdaqui\s+(?:para|pra)\s+a\s+frente\b",
    ],
}
# A change of job said without a work verb: "J'ai changé de boulot", "Ich habe den Job gewechselt", "new job", and
# "I'm at / je suis chez / ich bin bei NAME" once the clause says since when ("Depuis lundi je suis chez Leroy
# Merlin", "Seit Montag bin ich bei Bosch") or the message says the job changed (``JOB_CHANGE``).
JOB_CHANGE = re.compile(
    r"(?i)\b(?:changed|switched|changing|switching)\s+(?:jobs?|employers?|companies|teams?)\b|\bnew\s+(?:job|employer|role|position)\b|"
    r"\bchang[ée]\w*\s+de\s+(?:boulot|travail|job|poste|boîte|boite|taf|employeur)\b|"
    r"\bnouve(?:au|l|lle)\s+(?:boulot|travail|job|poste|boîte|boite|employeur)\b|"
    r"\b(?:job|arbeit|stelle|arbeitgeber|firma)\s+gewechselt\b|\bneue[nr]?\s+(?:job|stelle|arbeitgeber|arbeit)\b|"
    r"\bcambi\w*\s+de\s+(?:trabajo|curro|empresa|empleo)\b|\bnuevo\s+(?:trabajo|curro|empleo)\b|\bnueva\s+empresa\b|"
    r"\bmud\w*\s+de\s+(?:emprego|trabalho|empresa)\b|\bnov[oa]\s+(?:emprego|trabalho|empresa)\b"
)
# Leaving a job, unmistakably: "I handed in my notice", "I resigned", "Ich habe bei Siemens gekündigt", "j'ai
# démissionné", "renuncié", "demiti-me".  A work line of its own, and a sign that an employer named beside it is new.
QUIT_JOB = re.compile(
    r"(?i)\bhanded\s+in\s+(?:my\s+)?notice\b|\bi(?:['’]ve|\s+have)?\s+(?:just\s+)?(?:resigned|quit\s+(?:my\s+job|my\s+position|(?-i:[A-Z])))|"
    r"\bbei\s+(?:der\s+|dem\s+)?(?-i:[A-Z])\S*(?:\s+(?-i:[A-Z])\S*)?\s+gekündigt\b|\b(?:meinen\s+job|meine\s+stelle|"
    r"meine\s+arbeit)\s+gekündigt\b|\bmir\s+wurde\s+gekündigt\b|\bj['’]ai\s+démissionné\b|"
    r"\bj['’]ai\s+quitté\s+(?:mon\s+(?:boulot|travail|job|poste|emploi)|ma\s+boîte)\b|\b(?:renuncié|dimití)\b|"
    r"\bdej[ée]\s+(?:mi\s+(?:trabajo|empleo|puesto|curro))\b|\bdemiti-me\b|\bdeixei\s+o\s+(?:emprego|trabalho)\b"
)
# Leaving a named place of work ("I left Deloitte", "J'ai quitté Renault", "Dejé Telefónica", "Saí da Galp"): a
# sign, with a new employer named in the same message, that the job changed (alone it may be a town).
_LEFT_NAMED = re.compile(
    r"(?i)\b(?:i\s+left|i(?:['’]ve|\s+have)\s+left|j['’]ai\s+quitté|dej[ée]|me\s+fui\s+de|sal[ií]\s+de|deixei|sa[ií]\s+d[aoe])"
    r"\s+(?:la\s+|el\s+|a\s+|o\s+)?(?-i:[A-Z])"
)
# The same job at another employer: "same role", "gleiche Stelle", "même poste", "mismo puesto", "mesmo cargo".
_SAME_JOB = re.compile(
    r"(?i)\bsame\s+(?:job|role|position|title|team|work)\b|\bgleiche[nr]?\s+(?:job|stelle|position|rolle|arbeit)\b|"
    r"\bmême\s+(?:poste|job|boulot|rôle|travail|métier)\b|\bmism[oa]\s+(?:puesto|trabajo|cargo|rol|empleo)\b|"
    r"\bmesm[oa]\s+(?:cargo|emprego|trabalho|posto|função)\b"
)
# Going over to a new employer, said without a work verb: "I've switched to Linklaters", "bin jetzt bei Bosch",
# "me cambié a Iberdrola", "passei para a Sonae"; work only in a message that says the job changed.
_SWITCHED_TO = re.compile(
    rf"(?i)\b(?:i|we)(?:['’]ve|\s+have)?\s+(?:just\s+|now\s+|finally\s+)?(?:switched|changed|jumped|gone|went|moved)\s+"
    rf"(?:(?:ship|over|across)\s+)?to\s+(?-i:{tx.NAME_TOKEN})|\bbin\s+(?:jetzt\s+|nun\s+)?(?:bei|zu)\s+(?-i:{tx.NAME_TOKEN})|"
    rf"\bme\s+(?:cambié|pasé|fui)\s+a\s+(?-i:{tx.NAME_TOKEN})|\b(?:passei|mudei|fui)\s+para\s+(?:a\s+|o\s+)?(?-i:{tx.NAME_TOKEN})|"
    rf"\bje\s+suis\s+(?:passée?|partie?|allée?)\s+chez\s+(?-i:{tx.NAME_TOKEN})"
)


def job_changed_in(message: str) -> bool:
    """Whether a message says the user's job changed, so an employer it names is the new one."""
    return bool(JOB_CHANGE.search(message) or QUIT_JOB.search(message) or _SAME_JOB.search(message) or
                _LEFT_NAMED.search(message) and _SWITCHED_TO.search(message))


_SINCE = r"(?:since|depuis|seit|desde)\b"
_AT_EMPLOYER = (  # "I'm at Google", "je suis chez Leroy Merlin", "bin ich bei Bosch", "estoy en Inditex", "estou na Galp"
    rf"(?:(?:i['’]m|i\s+am|i['’]ve\s+been|i\s+have\s+been)\s+(?:now\s+)?(?:at|with)|je\s+suis\s+(?:maintenant\s+|désormais\s+)?chez|"
    rf"j['’]suis\s+chez|(?:ich\s+bin|bin\s+ich)\s+(?:jetzt\s+|nun\s+|seit\s+\w+\s+)?bei(?:\s+der|\s+dem)?|"
    rf"estoy\s+(?:ahora\s+)?en|estou\s+(?:agora\s+)?(?:na|no|em))\s+(?-i:(?:{tx.NAME_TOKEN}))"
)
AT_EMPLOYER = re.compile(rf"(?i)\b{_AT_EMPLOYER}")
_AT_EMPLOYER_SINCE = _AT_EMPLOYER.replace(r"|estoy\s+(?:ahora\s+)?en|estou\s+(?:agora\s+)?(?:na|no|em)", "")
_P["workplace"] = [
    # Where one works from: "I'm fully remote now", "I work remotely", "I go into the office on Tuesdays", "ich bin im
    # Homeoffice", "je suis en télétravail", "teletrabajo desde casa", "estou em teletrabalho".
    r"\b(?:i['’]m|im|i\s+am|we['’]re|we\s+are)\s+(?:now\s+|still\s+|currently\s+)?(?:fully\s+|mostly\s+|completely\s+|"
    r"100%\s+|full[\s-]time\s+)?(?:remote|hybrid|working\s+(?:remotely|remote|hybrid|from\s+home))\b|"
    r"\bi\s+(?:now\s+|still\s+|mostly\s+|currently\s+)?work\s+(?:fully\s+|mostly\s+)?(?:remotely|remote|hybrid)\b|"
    r"\b(?:i|we)\s+(?:now\s+|still\s+|only\s+|usually\s+)?(?:go|come|commute|head)\s+(?:in)?to\s+the\s+office\b|"
    r"\b(?:ich\s+bin|bin\s+ich)\s+(?:\w+\s+){0,2}?im\s+home-?office\b|\bje\s+(?:suis\s+(?:\w+\s+)?en\s+télétravail|"
    r"télétravaille)\b|\b(?:estoy\s+(?:\w+\s+)?en\s+teletrabajo|teletrabajo\s+desde)\b|"
    r"\b(?:estou\s+(?:\w+\s+)?em\s+teletrabalho|trabalho\s+(?:remotamente|remoto|a\s+partir\s+de\s+casa))\b",
]
_P["work"] += [
    JOB_CHANGE.pattern[4:],
    QUIT_JOB.pattern[4:],
    # Not "estoy en" / "estou na": with a day ("Desde el lunes estoy en Madrid") they say where one is, not for whom.
    rf"\b{_SINCE}[^,.;!?]{{0,30}}?\b{_AT_EMPLOYER_SINCE}|\b{_AT_EMPLOYER_SINCE}[^,.;!?]{{0,40}}?\b{_SINCE}",
    r"\b(?:curro|currando)\s+(?:en|para)\b|\b(?:comecei|começo|empecé|empiezo|he\s+empezado)\s+a\s+(?:trabalhar|trabajar)\b|"
    r"\bj['’]ai\s+commencé\s+(?:chez|à|au)\s+[A-Z]|\b(?:ich\s+)?(?:habe|hab)\s+(?:\w+\s+){0,3}bei\s+(?:der\s+|dem\s+)?[A-Z][\w-]*\s+"
    r"angefangen\b",
]
# "My gym is FitZone", "my shoe size is 43", "Mein Auto ist ein Golf": what the user has, in the user's words
# (people are semantic memories, names of things too: see ``_OWN_THING``).
_P["personal"] = [
    r"^\W*(?:my|our|mein\w*|unser\w*|mon|ma|mes|notre|nos|mi|mis|nuestr[oa]s?|(?:o|a)\s+(?:meu|minha|nosso|nossa)|meu|minha)"
    r"\s+(?!name\b|nom\b|nombre\b|nome\b)(?:[\w-]+\s+){0,2}?(?-i:is|are|was|ist|sind|est|sont|es|son|é|são)\b",
]
# Everyday first-person statements in Italian, Dutch, Polish, Swedish and Turkish, and the simplest romanised
# Japanese ("watashi wa ... desu", "... de hataraite imasu") and Hindi ("mera naam ...", "... mein rehta hoon").
_P["health"] += [
    r"\bsono\s+(?:\w+\s+)?(?:allergic[oaie]|intollerante|celiac[oa]|vegetarian[oa]|vegan[oa]|diabetic[oa]|incinta|"
    r"astmatic[oa])\b|\bho\s+(?:il\s+|l['’]|la\s+|un['’]?\s*|una\s+)?(?:diabete|asma|allergi\w*|emicrania|celiachia|"
    r"intolleranz\w*)\b|\bnon\s+(?:mangio|bevo)\s+(?:\w+\s+)?(?:carne|pesce|glutine|latticini|latte|alcol|zucchero)\b",
    r"\bik\s+ben\s+(?:\w+\s+)?(?:allergisch|vegetarisch|vegetariër|veganist|vegan|diabeet|diabetisch|zwanger|"
    r"glutenintolerant|lactose-?intolerant)\b|\bik\s+heb\s+(?:\w+\s+)?(?:diabetes|suikerziekte|astma|coeliakie|migraine|"
    r"allergie\w*|glutenintolerantie)\b|\bik\s+(?:eet|drink)\s+geen\b",
    r"\b(?:jestem|mam)\s+(?:\w+\s+)?(?:uczulon[ya]|alergi\w*|wegetarian\w*|wegan\w*|weganką|cukrzyc\w*|celiaki\w*|"
    r"astm\w*|migren\w*|nietolerancj\w*|w\s+ciąży)\b|\bnie\s+(?:jem|piję)\s+(?:\w+\s+)?(?:mięsa|glutenu|nabiału|mleka|"
    r"alkoholu|cukru|ryb)\b",
    r"\bjag\s+(?:är|har)\s+(?:\w+\s+)?(?:allergisk|vegetarian|vegan|diabetiker|gravid|celiaki|diabetes|astma|migrän|"
    r"laktosintolerant|glutenintolerant|allergi\w*)\b|\bjag\s+(?:äter|dricker)\s+(?:inte|ingen|inget|inga)\b",
    r"\b(?:vejetaryenim|veganım|diyabetim|çölyakım|astımım|migrenim|hamileyim|\w+\s+alerjim\s+var|alerjim\s+var|"
    r"\w+\s+hastasıyım)\b|\b(?:et|alkol|şeker|gluten)\s+(?:yemiyorum|içmiyorum)\b",
    r"\bmujhe\s+(?:\w+\s+){0,2}?(?:allergy|diabetes|sugar|asthma|bp)\s+(?:hai|he)\b",
]
_P["work"] += [
    r"\blavoro\s+(?:\w+\s+)?(?:come|per|presso|in|a|da|alla|al|nella|nel|all['’])\b|\bfaccio\s+(?:il|la|l['’])\s*"
    r"(?:\w+(?:ier[ea]|ist[ae]|tore|trice|ante|ente|ico|ica))\b|\bsono\s+(?:un['’]?\s*|una\s+)?(?:infermier[ea]|medico|"
    r"insegnante|ingegnere|avvocat[oa]|architett[oa]|studente|studentessa|programmat\w+|sviluppat\w+|cuoc[oa]|"
    r"farmacista|tradutt\w+|commess[oa]|impiegat[oa])\b",
    r"\bik\s+werk\s+(?:\w+\s+)?(?:als|bij|in|voor|aan|op)\b|\bik\s+ben\s+(?:\w+\s+)?(?:verpleegkundige|leraar|lerares|"
    r"docent\w*|ingenieur|arts|advocaat|student\w*|programmeur|ontwikkelaar|kok|apotheker|vertaler)\b",
    r"\bpracuję\s+(?:\w+\s+)?(?:jako|w|we|na|dla|u|przy)\b|\bjestem\s+(?:\w+\s+)?(?:nauczyciel\w*|pielęgniar\w+|"
    r"lekarz\w*|inżynier\w*|programist\w+|tłumacz\w*|prawnik\w*|student\w*|kucharz\w*|księgow\w+|architekt\w*)\b",
    r"\bjag\s+(?:jobbar|arbetar)\s+(?:\w+\s+)?(?:som|på|hos|med|för|i)\b|\bjag\s+är\s+(?:\w+\s+)?(?:sjuksköterska|"
    r"lärare|läkare|ingenjör|utvecklare|programmerare|student|advokat|kock|översättare|snickare|elektriker)\b",
    r"\bolarak\s+çalışıyorum\b|\w(?:['’]?(?:de|da|te|ta))\s+çalışıyorum\b|\b(?:öğretmen|hemşire|doktor|mühendis|"
    r"avukat|öğrenci|aşçı|yazılımcı|çevirmen)(?:im|ım|yim|yım|üm|um)\b",
    r"\bhatarai?te\s*i?masu\b|\bhataraiteimasu\b",
    r"\b(?:kaam|job|naukri)\s+kar(?:ta|ti)\s+(?:hoon|hun|hu|hoo)\b",
]
_P["home"] += [
    r"\b(?:und|aber|jetzt|nun)\s+(?:wohne|lebe)\s+(?:\w+\s+){0,3}?(?:in|im|am|bei)\b|\band\s+(?:now\s+)?live\s+in\b",
    r"\b(?:abito|abitiamo|viviamo)\s+(?:\w+\s+)?(?:a|in|al|alla|nel|nella|vicino)\b|\bvivo\s+(?:\w+\s+)?(?:a|al|alla|"
    r"nel|nella)\s|\b(?:mi\s+sono|ci\s+siamo)\s+trasferit[oaie]\b",
    r"\b(?:ik|wij|we)\s+(?:woon|wonen)\s+(?:\w+\s+)?(?:in|op|aan|bij)\b|\bwoon\s+ik\b|\b(?:ik\s+ben|we\s+zijn)\s+"
    r"(?:\w+\s+)?verhuisd\b",
    r"\bmieszkam\s+(?:\w+\s+)?(?:w|we|na|pod|przy|u|koło)\b|\bprzeprowadził(?:a|e)?m\s+się\b",
    r"\b(?:jag|vi)\s+bor\s+(?:\w+\s+)?(?:i|på|vid|nära|utanför)\b|\b(?:jag|vi)\s+(?:har\s+flyttat|flyttade)\b",
    r"\w(?:['’]?(?:de|da|te|ta))\s+(?:yaşıyorum|oturuyorum)\b|\btaşındım\b",
    r"\bni\s+sunde\s*i?masu\b",
    r"\b(?:mein|main)\s+(?:\w+\s+){0,3}?reh(?:ta|ti)\s+(?:hoon|hun|hu)\b",
]
_P["identity"] += [
    r"\bmi\s+chiamo\b|\bil\s+mio\s+nome\s+è\b|\bsono\s+di\s+(?-i:[A-Z])",
    r"\bik\s+heet\b|\bmijn\s+naam\s+is\b|\bik\s+kom\s+(?:oorspronkelijk\s+)?uit\s+(?-i:[A-Z])",
    r"\bmam\s+na\s+imię\b|\bnazywam\s+się\b|\bpochodzę\s+z\b",
    r"\bjag\s+heter\b|\bmitt\s+namn\s+är\b|\bjag\s+kommer\s+(?:ursprungligen\s+)?från\s+(?-i:[A-Z])",
    r"\b(?:benim\s+)?(?:adım|ismim)\s+(?-i:[A-ZÇĞİÖŞÜ])",
    r"(?-i:\b[Ww]atashi\s+wa\s+[A-Z]\w+(?:\s+[A-Z]\w+)?\s+desu\b)",
    r"\bmera\s+naam\s+(?-i:[A-Z])",
]
_P["health"] += [
    # What a doctor found, said without punctuation ("so the doctor confirmed it's type 2 diabetes so ..."); a
    # medicine taken on a schedule; a named diet one is on or has ended.
    r"\b(?:doctor|doc|gp|dr\.?|nurse|consultant|specialist|tests?|results?|scan)\s+(?:\w+\s+){0,2}?(?:confirmed|diagnosed|said|"
    r"says|found|showed|shows)\b.{0,40}?\b(?:diabetes|asthma|coeliac|celiac|allerg\w*|arthritis|hypertension|"
    r"high\s+blood\s+pressure|anaemi\w*|anemi\w*|\w+itis|\w+osis|migraines?|epilepsy|adhd|pregnan\w+|intoleran\w+)\b",
    r"\bi\s+(?:\w+\s+){0,3}?take\s+[\w-]+\s+(?:(?:once|twice|three\s+times)\s+(?:a|per)\s+day|daily|every\s+(?:day|"
    r"morning|evening|night)|at\s+night|with\s+(?:meals|food|breakfast|dinner))\b",
    r"\b(?:i['’]m|i\s+am|im|i['’]ve\s+been)\s+(?:\w+\s+)?(?:doing|on|trying)\s+(?:a\s+|the\s+)?(?:strict\s+)?(?:keto|paleo|"
    r"low[\s-]carb|whole30|intermittent\s+fasting|carnivore|atkins|dukan|fodmap|elimination\s+diet|juice\s+cleanse)\b|"
    r"\bi\s+(?:\w+\s+)?(?:quit|stopped|gave\s+up|dropped|ended|broke)\s+(?:my\s+|the\s+)?(?:keto|paleo|low[\s-]carb|whole30|"
    r"intermittent\s+fasting|diet|dieting|fast|veganism|being\s+vegan|being\s+vegetarian)\b|"
    r"\b(?:i['’]m|i\s+am|im)\s+eating\s+(?:normally|everything|meat)\s+again\b",
]
_P["work"] += [
    r"\b(?:got|accepted|landed|was\s+offered|been\s+offered|took)\s+(?:the|a|that)\s+(?:new\s+)?(?:job|position|role|"
    r"post|offer)\s+(?:at|with|from)\s+(?-i:[A-Z])",
]
PATTERNS = {family: [re.compile(p, re.IGNORECASE) for p in patterns] for family, patterns in _P.items()}

# Words that say a clause is about someone else, not the user ("it renews every March", "he always ...").
_THIRD_PERSON_START = re.compile(
    r"(?i)^\W*(?:it|it['’]s|he|he['’]s|she|she['’]s|they|they['’]re|this|that|er|sie|es|il|elle|ils|elles|él|ella|"
    r"ellos|ele|ela|eles|elas|you|your|du|tu|vous)\b"
)
_USER_SUBJECT = re.compile(
    r"(?i)\b(?:i|i['’]m|im|i['’]ve|i['’]d|my|me|we|we['’]re|our|ich|mir|mich|wir|je|j['’]|moi|nous|yo|eu|nós)\b|"
    r"\b(?:tomo|bebo|como|uso|prefiero|prefiro|moro|vivo|trabajo|trabalho|soy|sou|estoy|estou|tengo|tenho|corro|nado|"
    r"gosto|adoro|odeio|odio|juego|jogo|escucho|ouço)\b|\bme\s+(?:encanta|gusta)"
)
_FREQUENCY_ONLY = re.compile(r"(?i)\b(?:always|never|immer|nie|lieber|toujours|jamais|siempre|nunca|sempre)\b")

RELATIONS = (
    r"(?:(?:best|close|old|good|oldest|childhood|little|big|older|younger|twin|step|half|ex|late|new|accountant|"
    r"work|school|uni)[\s-]+)*"
    r"(?:mother|mum|mom|mummy|mommy|father|dad|daddy|parents?|sister|brother|sibling|aunt|auntie|uncle|cousin|"
    r"nephew|niece|grandmother|grandma|granny|nan|grandfather|grandpa|granddad|grandson|granddaughter|grandchild|"
    r"son|daughter|kid|child|baby|wife|husband|partner|spouse|boyfriend|girlfriend|fianc[ée]e?|"
    r"(?:sister|brother|mother|father|son|daughter)-in-law|in-laws?|godmother|godfather|godson|goddaughter|"
    r"friend|buddy|mate|flatmate|roommate|housemate|neighbou?r|colleague|co-?worker|teammate|boss|manager|pm|"
    r"supervisor|mentor|assistant|landlord|landlady|doctor|gp|dentist|physio|physiotherapist|therapist|"
    r"psychologist|vet|plumber|electrician|mechanic|accountant|lawyer|solicitor|hairdresser|barber|tutor|"
    r"teacher|coach|trainer|babysitter|nanny|cleaner|midwife|dog|cat|puppy|kitten|pet|horse|rabbit|parrot|"
    r"mutter|mama|vater|papa|eltern|schwester|bruder|tante|onkel|cousine|neffe|nichte|oma|opa|sohn|tochter|"
    r"frau|mann|ehefrau|ehemann|freundin|freund|partnerin|kollegin|kollege|chefin|chef|nachbarin|nachbar|"
    r"vermieterin|vermieter|hausärztin|hausarzt|ärztin|arzt|zahnärztin|zahnarzt|tierärztin|tierarzt|hund|katze|"
    r"mère|maman|père|papa|parents|sœur|soeur|frère|tante|oncle|cousine|cousin|neveu|nièce|grand-mère|"
    r"grand-père|fils|fille|femme|mari|compagne|compagnon|copine|copain|amie|ami|collègue|patronne|patron|voisine|"
    r"voisin|propriétaire|médecin|dentiste|kiné|vétérinaire|chienne|chien|chatte|chat|"
    r"madre|padre|padres|hermana|hermano|tía|tío|prima|primo|sobrina|sobrino|abuela|abuelo|hija|hijo|esposa|"
    r"esposo|marido|mujer|pareja|novia|novio|amiga|amigo|compañera|compañero|jefa|jefe|vecina|vecino|casera|"
    r"casero|médica|médico|perra|perro|gata|gato|"
    r"mãe|mae|pai|pais|irmã|irmão|tia|tio|avó|avô|filha|filho|namorada|namorado|companheira|companheiro|colega|"
    r"chefe|vizinha|vizinho|senhoria|senhorio|cadela|cão|cachorro|"
    # Polish, Italian and Dutch, as they come up in mixed-language messages ("moja mama Halina", "mia sorella Giulia")
    r"tata|siostra|brat|babcia|dziadek|ciocia|wujek|córka|syn|żona|mąż|przyjaciółka|przyjaciel|sąsiadka|sąsiad|szefowa|szef|"
    r"sorella|fratello|nonna|nonno|zia|zio|figlia|figlio|moglie|marito|fidanzata|fidanzato|"
    r"moeder|vader|zus|broer|oom|dochter|zoon|vriendin|vriend|buurvrouw|buurman|collega|"
    r"mamma|papà|cugina|cugino|amica|amico|vicina|vicino|suocera|suocero|nipote|"
    r"koleżanka|kolega|chłopak|dziewczyna|narzeczona|narzeczony|"
    r"pappa|syster|bror|fru|sambo|dotter|mormor|morfar|farmor|farfar|kompis|vän|granne|kollega)"
)
_POSSESSIVE = (
    r"(?:my|our|mein|meine|meiner|meinem|meinen|unser|unsere|unserem|unseren|mon|ma|mes|notre|nos|mi|mis|"
    r"nuestr[oa]s?|(?:a|o|as|os)\s+(?:minha|meu|minhas|meus|nossa|nosso)|minha|meu|nossa|nosso|"
    r"moja|mój|moje|moi|mojej|mojego|nasza|nasz|(?:la\s+|il\s+)?(?:mia|mio|nostra|nostro)|mijn|onze|ons|min|mitt|mina|vår|vårt)"
)
_THEIR = r"(?:his|her|their|sein|seine|seinem|seinen|ihr|ihre|ihrem|ihren|son|sa|ses|leur|su|sus|seu|sua|dele|dela)"
_IS = r"(?:is|was|ist|heißt|est|s['’]appelle|es|se\s+llama|é|chama-se|se\s+chama)"
_NAME = rf"(?-i:(?:{tx.HONORIFIC}\s+)?{tx.NAME})"
_SUBJECT_VERBS_EARLY = r"(?:is|was|has|works|lives|handles|owns|runs|leads|manages|teaches|needs|can['’]t|doesn['’]t|won['’]t)"
_REL_PATTERNS = [
    # "my aunt Rosa", "A minha mãe, Fernanda,", "my accountant friend Bea"
    re.compile(rf"(?i)\b{_POSSESSIVE}\s+(?P<rel>{RELATIONS})\s*,?\s+(?P<name>{_NAME})"),
    # "Our landlord is Mr. Adeyemi", "The vet is Dr. Schmid"
    re.compile(rf"(?i)\b(?:{_POSSESSIVE}|the|der|die|das|le|la|el|o|a)\s+(?P<rel>{RELATIONS})\s+{_IS}\s+(?P<name>{_NAME})"),
    # "My partner's name is Alex", "Mein Bruder heißt Jan"
    re.compile(rf"(?i)\b{_POSSESSIVE}\s+(?P<rel>{RELATIONS})(?:['’]s\s+name\s+is|\s+heißt|\s+s['’]appelle|\s+se\s+llama|"
               rf"\s+chama-se|\s+se\s+chama)\s+(?P<name>{_NAME})"),
    # "Amira is my best friend", "Ada — my sister — is ...", "Bruno, my colleague,"
    re.compile(rf"(?i)(?P<name>{_NAME})\s*(?:,|—|–|-|\bis\b|\bist\b|\best\b|\bes\b|\bé\b)\s*{_POSSESSIVE}\s+(?P<rel>{RELATIONS})\b"),
    # "Ana from my team", "Jo from work", "Priyanka from accounting is ..."
    re.compile(rf"(?i)(?P<name>{_NAME})\s+from\s+(?:my\s+|our\s+)?(?P<rel>team|work|office|class|gym|school|uni|"
               r"university|company|department|choir|club|band|course)\b"),
    re.compile(rf"(?i)^\W*(?P<name>{_NAME})\s+from\s+(?:my\s+|our\s+|the\s+)?(?P<rel>[a-z][\w-]+(?:\s+[a-z][\w-]+)?)"
               rf"\s+(?={_SUBJECT_VERBS_EARLY}\b)"),
]
# Turkish says "my" with a suffix: "Annem Ayten" (my mother Ayten), "kız kardeşim Elif"; the name is one word, before
# a case ending ("İzmir'de").
_TR_RELATIONS = (
    r"(?:annem|babam|ablam|abim|ağabeyim|kız\s+kardeşim|erkek\s+kardeşim|kardeşim|eşim|karım|kocam|kızım|oğlum|"
    r"teyzem|halam|dayım|amcam|anneannem|babaannem|dedem|arkadaşım|komşum|patronum|nişanlım|sevgilim|yeğenim|kuzenim)"
)
_REL_PATTERNS.append(re.compile(rf"(?i)(?<!\w)(?P<rel>{_TR_RELATIONS})\s*,?\s+(?P<name>(?-i:{tx.NAME_TOKEN}))(?![\w'’])"))
# "her partner Dev", "Seine Frau Petra", "Their daughter Zara": someone else's relation, so not the user's.
_THEIR_PATTERN = re.compile(rf"(?i)\b{_THEIR}\s+(?P<rel>{RELATIONS})\s*,?\s+(?P<name>{_NAME})")
# "Priya's birthday", "Kofi's number": a name that owns what people own.
_POSSESSOR = re.compile(
    rf"(?P<name>{_NAME})['’]s\s+(?:(?:new|old|\d+\w*)\s+)?(?:birthday|wedding|number|phone|mobile|address|e-?mail|job|"
    r"office|husband|wife|partner|boyfriend|girlfriend|sister|brother|mum|mom|dad|mother|father|son|daughter|kids|"
    r"children|dog|cat|house|flat|place|car|party|funeral|graduation|anniversary|surgery|appointment|flight|"
    r"train|visit|birthday\s+party|baby|family|parents)\b"
)
# "My gym is FitZone", "Our bank is Revolut": a thing of the user's, with a name of its own.
_OWN_THING = re.compile(
    rf"(?i)^\W*{_POSSESSIVE}\s+(?P<rel>(?!name\b|nom\b|nombre\b|nome\b)[\w-]+(?:\s+[\w-]+)?)\s+(?:is|are|ist|est|es|é|"
    rf"is\s+called|heißt|nennt\s+sich|s['’]appelle|se\s+llama|chama-se|se\s+chama)\s+"
    rf"(?:now\s+|jetzt\s+|maintenant\s+|ahora\s+|agora\s+)?(?:at\s+|with\s+|bei\s+|chez\s+)?"
    rf"(?:(?:the|der|die|das|le|la|el|o|a)\s+(?=(?-i:[A-Z])))?(?P<name>{_NAME})"
)
# A name that is a practice, a shop or a firm ("Riverside Surgery", "Praxis Dr. Weber", "Clínica Sol"): never a person.
_PLACE_OF_WORK = re.compile(
    r"(?i)\b(?:surgery|clinic|practice|hospital|centre|center|pharmacy|chemist|dental|medical|health|ltd|llc|inc|gmbh|"
    r"ag|plc|praxis|klinik|krankenhaus|apotheke|cabinet|clinique|hôpital|pharmacie|clínica|hospital|farmacia|farmácia|"
    r"consultorio|consultório)\b"
)
_PERSON_RELATION = re.compile(rf"(?i)^{RELATIONS}$")
_HOLDS_VALUE = re.compile(r"@[\w-]+\.\w|\+?\d[\d ()./-]{6,}\d|•")
_REL_START = re.compile(rf"(?i)^\W*{_POSSESSIVE}\s+(?:{RELATIONS})\b")
_TITLED = re.compile(rf"(?-i:\b(?P<name>{tx.HONORIFIC}\s+{tx.NAME}))")
# A clause that starts with a name and a verb: "Siobhan is coeliac", "Nadia handles the backend", "Lars left Spotify".
_SUBJECT_VERBS = (
    r"(?:is|was|has|had|does|did|works|worked|lives|lived|handles|owns|runs|leads|manages|teaches|studies|sets|makes|"
    r"wrote|writes|left|joined|moved|got|started|starts|plays|loves|likes|hates|needs|takes|took|turns|turned|"
    r"closes|opens|renews|costs|offers|serves|sells|does|knows|just\s+\w+|also\s+\w+|'s|’s|"
    r"ist|war|hat|hatte|wohnt|arbeitet|lebt|macht|leitet|kümmert|spielt|studiert|schließt|öffnet|kostet|bietet|"
    r"est|habite|travaille|vit|fait|gère|s['’]occupe|dirige|enseigne|étudie|ferme|ouvre|coûte|propose|"
    r"es|está|tiene|vive|trabaja|hace|lleva|gestiona|enseña|estudia|cierra|abre|cuesta|ofrece|"
    r"é|tem|mora|trabalha|faz|gere|cuida|ensina|estuda|fecha|custa|oferece)"
)
# Any English verb in -s or -ed counts when an object follows ("Omar builds the backend", "Leila ran the rollout").
_SUBJECT = re.compile(rf"^\W*(?P<name>{_NAME})\s+(?P<verb>{_SUBJECT_VERBS}|[a-z]+(?:s|ed)(?=\s+(?:the|a|an|our|my|his|her|"
                      rf"their|all|every|most|some|two|three)\b))\b", re.IGNORECASE)
# A verb after a single capitalised word at a sentence start must say the word is a person ("Siobhan is coeliac").
_PERSON_PREDICATE = re.compile(
    rf"(?i)^\s*(?:is|ist|est|es|é)\s+(?:(?:a|an|ein|eine|un|une|um|uma)\s+(?:[\w-]+\s+)?(?:\w+(?:er|or|ist|ian|ant|ent|"
    r"eur|euse|ista|ero|era|eiro|eira|in)|nurse|doctor|chef|nurse|student|teacher|coach|vet|friend|mum|mom|dad)\b|"
    rf"{_POSSESSIVE}\b|"
    r"(?:\w+\s+)?(?:allergic|coeliac|celiac|vegan|vegetarian|diabetic|pregnant|moving|retired|married|"
    r"allergisch|schwanger|allergique|enceinte|alérgic[oa]|celíac[oa]|embarazada|grávida))"
)
_ORG_PATTERNS = [
    # "account name R. Verhoeven", "payee: Mrs K. Adjei", "Kontoinhaber Jan Vos", "titulaire du compte M. Diallo"
    re.compile(rf"(?i)\b(?:account\s+(?:name|holder)|payee|beneficiary|recipient|kontoinhaber(?:in)?|empfänger(?:in)?|"
               rf"titulaire(?:\s+du\s+compte)?|bénéficiaire|titular(?:\s+de\s+la\s+cuenta|\s+da\s+conta)?|"
               rf"beneficiari[oa]|beneficiári[oa])\s*:?\s+(?P<name>(?-i:(?:{tx.HONORIFIC}\s+)?(?:[A-Z]\.\s*){{0,2}}{tx.NAME}))"),
    # "I'm leading the Heron migration", "working on the Kestrel rollout", "je dirige le projet Ibis"
    re.compile(rf"(?i)\b(?:lead|leading|leads|led|run|running|runs|working\s+on|work\s+on|works\s+on|managing|manage|"
               rf"manages|own|owns|owning|in\s+charge\s+of|responsible\s+for)\s+(?:the\s+|our\s+|a\s+)?"
               rf"(?P<name>(?-i:{tx.NAME_TOKEN}))\s+(?:migration|project|rollout|roll-out|launch|redesign|programme|program|"
               rf"initiative|release|upgrade|integration|pilot|workstream|refactor|audit|campaign|study|bid)\b"),
    re.compile(rf"(?i)\b(?:das\s+projekt|le\s+projet|el\s+proyecto|o\s+projeto|il\s+progetto|the\s+project)\s+"
               rf"(?P<name>(?-i:{tx.NAME}))"),
    re.compile(rf"(?i)\b(?:joined|member\s+of|signed\s+up\s+(?:for|with)|customer\s+of|subscribed\s+to|"
               rf"beigetreten|membre\s+d[eu]|socio\s+de|sócio\s+d[eoa])\s+(?:the\s+|der\s+|die\s+|le\s+|la\s+|el\s+|o\s+|a\s+)?"
               rf"(?P<name>(?-i:{tx.NAME}))"),
    re.compile(rf"(?i)\b(?:is|are|ist|est|es|é|está)\s+(?:with|bei|chez|con|com)\s+(?P<name>(?-i:{tx.NAME}))"),
    re.compile(rf"(?i)\b(?:called|named|namens|genannt|nommée?|appelée?|llamad[oa]|chamad[oa])\s+(?P<name>(?-i:{tx.NAME}))"),
    re.compile(rf"(?-i:^\W*(?P<name>{tx.NAME}))(?:\s+(?:on|in|at|an|am|im|de|en|na|no)\s+(?:the\s+)?(?-i:{tx.NAME}))?"
               rf"\s+(?:is|ist|est|es|é)\s+(?:where|wo|où|donde|onde)\b", re.IGNORECASE),
]
# "Project Atlas is the warehouse system migration": a name being defined.
_DEFINITION = re.compile(
    rf"^\W*(?P<name>(?-i:(?:Project|Projekt|Projet|Proyecto|Projeto|Operation|Team)\s+{tx.NAME}|{tx.NAME_TOKEN}\s+{tx.NAME}))"
    rf"\s+(?:is|ist|est|es|é)\s+(?:the|a|an|our|my|der|die|das|ein|eine|le|la|un|une|el|o|a|um|uma|notre|mon|unser|"
    rf"unsere|mein|meine|nuestro|nuestra|mi|nosso|nossa|meu|minha)\b",
    re.IGNORECASE,
)
_PRONOUN_START = re.compile(
    r"(?i)^\W*(?:he|she|they|him|her|his|their|he['’]s|she['’]s|they['’]re|er|sie|ihr|sein|seine|il|elle|ils|"
    r"elles|él|ella|ellos|ele|ela|eles|elas)\b"
)
_NOT_NAMES = frozenset(
    """the a an my our your his her their this that these those i we you he she they it what when where who why how
    which yes no ok okay hi hey hello thanks thank please sorry also and but so then just still now today tomorrow
    yesterday monday tuesday wednesday thursday friday saturday sunday january february march april may june july
    august september october november december der die das ein eine mein meine unser ich wir du er sie es und aber
    le la les un une mon ma mes je tu il elle nous vous et mais el los las uno una mi yo tú él ella y pero o os
    um uma meu minha eu ele ela e mas correction update reminder note
    thankfully hopefully luckily unfortunately fortunately honestly actually basically finally recently lately
    obviously apparently definitely absolutely totally seriously anyway plus wow yeah yep yup nope sure cool great
    awesome nice thanks congrats congratulations oh ah glad sorry well okay right lol haha wish takes lots keep let's
    love loved got just guess maybe yes no wait look see check here there everyone everybody someone nobody
    anything something nothing life family friends kids people home work school""".split()
)


@dataclass
class Statement:
    """A sentence someone wrote, with its factual clauses and whether it updates an earlier fact."""

    obs: Any
    index: int
    text: str
    clauses: list[str]
    kind: str | None  # correct | end | change | None
    speaker: str | None  # a named speaker (group chats); None for the user talking to Engram
    about: tuple[str, str | None] | None = None  # (name, relation) of the person a short reply is about


SHORT_REPLY_WORDS = 8  # "nurse, nights at St Brigid's": a reply this short answers the question before it
# "What's your partner's name?", "And your sister is called?": the reply is that relation's name.
_ASKS_RELATION_NAME = re.compile(
    rf"(?i)\byour\s+(?P<rel>{RELATIONS})(?:['’]s\s+name|\s+(?:is\s+)?called|\s+named)\b"
)
_REPLY_IS_NAME = re.compile(rf"^\W*(?P<name>{_NAME})\W*$")
_FIRST_PERSON_START = re.compile(r"(?i)^\W*(?:i|i['’]m|im|my|me|we|we['’]re|our|ich|je|yo|eu)\b")


def _asked_about(question: str) -> str | None:
    """The one person an assistant's question names ("And what does Kwame do?"), else None."""
    asked = [s.text for s in tx.sentences(question) if tx.is_question(s.text)]
    if not asked:
        return None
    found = {_clean_name(m.group()) for m in re.finditer(rf"(?<=\s)(?-i:{tx.NAME})", asked[-1])}
    found = {name for name in found if _valid_name(name)}
    return found.pop() if len(found) == 1 else None


def _reply_about(asked: Any, obs: Any) -> tuple[str, str | None] | None:
    """Whom the user's short reply to an assistant's question is about, if the question named someone."""
    if asked is None or asked.conversation != obs.conversation or obs.ts - asked.ts > TOPIC_FOLLOW_SECONDS:
        return None
    reply = obs.text or ""
    if len(reply.split()) > SHORT_REPLY_WORDS or _FIRST_PERSON_START.match(reply) or \
            _PRONOUN_START.match(reply) or "?" in reply:
        return None
    relation = _ASKS_RELATION_NAME.search(asked.text or "")
    named = _REPLY_IS_NAME.match(reply)
    if relation and named and _valid_name(named.group("name"), related=True):
        return _clean_name(named.group("name")), relation.group("rel").lower()
    name = _asked_about(asked.text or "")
    return (name, None) if name else None


def statements(observations: Sequence) -> list[Statement]:
    """The sentences of the user's own chat messages that state something, in order.

    A request or a question states nothing, but a relation it names is a fact
    ("help me write to my landlady Mrs Brennan-Lowe"): that phrase is kept.  A
    short reply to an assistant's question about someone ("And what does Kwame
    do?" – "nurse, nights at St Brigid's") is about that person.
    """
    out: list[Statement] = []
    asked = None  # the assistant's message the user's next one may answer
    for obs in observations:
        if obs.kind == "chat" and (getattr(obs, "role", None) or "").lower() == "assistant":
            asked = obs
            continue
        if obs.kind != "chat" or not provenance.is_users_own(obs):
            continue
        speaker = (obs.meta or {}).get("speaker") or None
        about = None if speaker else _reply_about(asked, obs)
        asked = None
        for index, sentence in enumerate(tx.sentences(obs.text or "")):
            text = sentence.text[:MAX_SENTENCE_CHARS * 2]
            parts = tx.factual_clauses(text)
            if not parts and (tx.is_question(text) or tx.is_request(text)):
                out += [Statement(obs, index, m.group(), [m.group()], None, speaker)
                        for m in _REL_PATTERNS[0].finditer(text)]
            if not parts:
                continue
            out.append(Statement(obs, index, text, parts, tx.statement_kind(text), speaker, about))
    return out


def families_of(clause: str, *, first: bool = True, job_changed: bool = False, ts: float | None = None) -> list[str]:
    """The fact families a clause belongs to, most specific first; ``first`` for a sentence's first clause.

    ``job_changed``: the message says the job changed, so "je suis chez Castorama" names the new employer.
    ``ts``: when it was said; a clause that names the day of an event ("I have my driving test in two weeks",
    "we always ... next Friday") is an event, never a lasting preference.
    """
    out: list[str] = []
    clause = tx.fix_typos(clause)  # "vegetarain", "alergic": the pattern reads the word meant; the line keeps the user's
    switched = job_changed and bool(_SWITCHED_TO.search(clause))  # "switched to Linklaters": work, not a preference
    if job_changed and (AT_EMPLOYER.search(clause) or switched) and not _THIRD_PERSON_START.match(clause):
        out.append("work")
    for family in FAMILIES:
        for pattern in PATTERNS[family] if family not in out else ():
            match = pattern.search(clause)
            if not match:
                continue
            if family == "preferences" and (_THIRD_PERSON_START.match(clause) or switched or
                                            _FREQUENCY_ONLY.search(match.group()) and not _USER_SUBJECT.search(clause)
                                            and clause[: match.start()].strip() != "" or
                                            event_dates(clause, ts)):
                continue
            if family == "identity" and not _identity_name_ok(clause, match):
                continue
            if family == "personal" and (out or _REL_START.match(clause) or _OWN_THING.match(clause) or _HOLDS_VALUE.search(clause)):
                # Said by another family ("My new address is ..."); about someone or something ("My sister Mira
                # is ...", "My gym is FitZone"); or a value ("my work phone is +44 ...") the vault keeps.
                continue
            out.append(family)
            break
    if not out and not first and _JOB_AFTER_NAME.match(clause) and not _THIRD_PERSON_START.match(clause):
        out.append("work")  # "Sou o Rafael Azevedo, engenheiro civil na Mota-Engil"
    if "work" in out and "home" not in out and _JOB_IN_TOWN.search(clause):
        out.append("home")  # "I'm a librarian in Stavanger": where the user works and lives
    return out


def family_of(clause: str) -> str | None:
    found = families_of(clause)
    return found[0] if found else None


# A job and where, with no verb, after the user said who they are: "product designer at Panasonic".
_JOB_AFTER_NAME = re.compile(
    rf"^\W*(?:(?:a|an|um|uma|un|une|ein|eine)\s+)?(?:[^\W\d_][\w-]*\s+){{0,2}}[^\W\d_][\w-]*\s+"
    rf"(?:at|@|chez|bei|na|no|em|en|in\s+der|im|für|for)\s+(?-i:{tx.NAME_TOKEN})",
    re.IGNORECASE,
)
# A job in a town: "I'm a librarian in Stavanger", "je suis infirmière à Rennes", "ich bin Lehrerin in Graz",
# "soy enfermera en Cali", "sou professora em Braga".
_JOB_IN_TOWN = re.compile(
    r"(?i)\b(?:i['’]m|i\s+am|je\s+suis|ich\s+bin|soy|sou)\s+(?:now\s+|jetzt\s+|maintenant\s+)?(?:(?:a|an|un|une|ein|eine|um|uma)\s+)?"
    r"(?:[\w-]+\s+){0,2}?[\w-]+\s+(?:in|à|en|em|no|na)\s+(?!\w+ics\b|(?:law|medicine|history|biology|chemistry|english|french|german|spanish|"
    r"maths?|year|grade|class|sales|marketing|finance|it|hr|training|charge)\b)(?-i:[A-Z][\w'’-]+)(?:\s+(?-i:[A-Z][\w'’-]+))?\s*(?:[,.;!]|$)"
)
_GREETING = re.compile(r"(?i)^\W*(?:hi|hey|hello|hallo|hola|olá|ola|salut|bonjour|ciao|moin|servus)\W*$")
_LOWER_NAME = re.compile(r"(?i)^\W*(?:i['’]m|im|i\s+am)\s+(?-i:[a-z][\w'’-]+)\W*$")


def _identity_name_ok(clause: str, match: re.Match) -> bool:
    """"I'm Aigerim" names the user; "I'm OK", "I'm here", "I'm Monday-tired" are not a name to keep."""
    here = re.match(rf"(?-i:^(?P<name>{tx.NAME})\s+here\b)", match.group())
    if here:
        return _valid_name(here.group("name"))
    named = re.search(rf"(?-i:(?:I['’]m|I\s+am|Im|im|i['’]m|[Jj]e\s+suis|[Ss]oy|[Ss]ou|[Ii]ch\s+bin)\s+(?:o\s+|a\s+|el\s+|la\s+|der\s+|die\s+)?"
                      rf"(?P<name>{tx.NAME}))", match.group())
    if not named:
        return True
    first = named.group("name").split()[0].strip("'’.")
    return len(first) >= 2 and not first.isupper() and first.lower() not in _NOT_NAMES


def _group_clauses(statement: Statement) -> list[tuple[str, str]]:
    """``(family, text)`` for each run of clauses that states a fact of one family, in the user's words.

    A clause that matches no family goes with the run before it (or, at the
    start, with the first run); a clause of two families ("My name is Wanjiru
    and I teach chemistry") is also a line of the second.
    """
    groups: list[list] = []
    extra: list[tuple[str, str]] = []
    pending: list[str] = []
    job_changed = job_changed_in(statement.obs.text or statement.text)
    for index, clause in enumerate(statement.clauses):
        found = families_of(clause, first=index == 0, job_changed=job_changed, ts=statement.obs.ts)
        if not found and index and _GREETING.match(statement.clauses[index - 1]) and _LOWER_NAME.match(clause):
            found = ["identity"]  # "hey, im tobias"
        if not found:
            if groups:
                groups[-1][1].append(clause)
            else:
                pending.append(clause)
            continue
        extra += [(family, clause) for family in found[1:]]
        if groups and groups[-1][0] == found[0]:
            groups[-1][1].append(clause)
        else:
            groups.append([found[0], pending + [clause]])
        pending = []
    out = [(family, ", ".join(parts)) for family, parts in groups]
    return out + [item for item in extra if item[0] not in {f for f, _ in out}]


def _line(text: str) -> str:
    text = " ".join(text.split())[:MAX_SENTENCE_CHARS]
    return text if text[-1:] in ".!?" else text + "."


def core_facts(items: Sequence[Statement]) -> list[Candidate]:
    """Core memory lines from the user's own statements, one per fact family a statement touches."""
    out: list[Candidate] = []
    for statement in items:
        if statement.speaker or statement.about:
            continue  # a named speaker's words, or a reply about someone else, are not about the user
        # A postal address is the vault's: a core line names its town and district instead.
        said = tx.strip_lead_in(lookups.describe_addresses(statement.text))
        home = lookups.home_in_clear(statement.text, statement.obs.text or "")
        for family, text in _group_clauses(Statement(statement.obs, statement.index, said, tx.factual_clauses(said),
                                                     statement.kind, None)):
            masked = lookups.MASK_CHAR in text and lookups.MASK_CHAR not in (home or lookups.MASK_CHAR)
            line = f"User {home}." if family == "home" and home and (lookups.VAULT_NOTE in text or masked) else f"User: {_line(text)}"
            out.append(Candidate(
                "core", {"label": family, "value": line}, [statement.obs.id], key=("fact", family), text=line,
                meta={"family": family, "kind": statement.kind, "statement": statement.text, "ts": statement.obs.ts,
                      "order": (statement.obs.ts, statement.obs.id, statement.index), "source_text": statement.obs.text,
                      "also": bool(re.search(r"(?i)\b(?:also|too|as\s+well|auch|aussi|también|também)\b", text))},
            ))
    return out


# What a named speaker did or does ("we went camping", "I signed up for a pottery class"): their activities.
_DOINGS = re.compile(
    r"(?i)\b(?:i|we)(?:['’]m|\s+am|\s+are|['’]re|['’]ve|\s+have|\s+had|['’]d|\s+just|\s+also|\s+recently|\s+finally|"
    r"\s+really|\s+still|\s+even|\s+often|\s+usually|\s+off\s+to|\s+about\s+to|\s+planning\s+to|\s+going\s+to|"
    r"\s+want\s+to|\s+love\s+to|\s+like\s+to|\s+used\s+to)*\s+(?:went|go|going|signed\s+up|joined|took|take|taking|started|"
    r"start|visited|visit|ran|run|running|painted|paint|painting|made|make|making|bought|attended|volunteered|"
    r"volunteer|played|play|playing|did|tried|learned|learning|read|reading|watched|hiked|hiking|camped|camping|swam|"
    r"swimming|baked|baking|cooked|cooking|wrote|writing|travel(?:l)?ed|travel(?:l)?ing|gave|got|had|met|saw|finished|won|"
    r"passed|built|building|bought|adopted|adopting|researching|researched|studied|studying|attended|ran|explored|"
    r"exploring|visited|celebrated|performed|danced|sang|drew|drawing|knitted|gardened|fished|skied|surfed|biked|"
    r"cycled|climbed|hosted|organised|organized|volunteered|donated|mentored|mentoring|counsel(?:l)?ing)\b"
)


_TO_THE_LISTENER = re.compile(r"(?i)\b(?:you|you['’](?:re|ve|d|ll)|your|yours|yourself|u|ur|let['’]s)\b")


def _states_something(statement: Statement, speaker: str) -> bool:
    """Whether a sentence of a named speaker's turn says something of their world: in the first person ("I went
    camping"), a photo they share, or a statement that is not about the listener ("It was Matt Patterson, he is so
    talented") with words beyond greetings and names ("Thanks, Caroline!" says nothing)."""
    said = " ".join(statement.clauses)
    if tx.FIRST_PERSON.search(said) or "[" in statement.text:
        return True
    if _TO_THE_LISTENER.search(said):
        return False  # "You'd be a great counselor!": about the listener, in the speaker's words
    names = {w.lower() for w in speaker.split()}
    return len(tx.content_words(said) - names) >= 2


def _is_plan(sentence: str) -> bool:
    """A plan or wish the speaker states of themselves ("We're thinking about going camping next month"): not a
    fact, but what they said, which their turn's memory quotes as such.  Conditions and questions are neither."""
    return (tx.is_hypothetical(sentence) and bool(tx.FIRST_PERSON.search(sentence)) and not tx.is_question(sentence)
            and not tx.is_request(sentence) and not tx.CONDITION_START.match(tx.strip_lead_in(sentence)))


def _question_before(obs, observations: Sequence) -> tuple[Any, str] | None:
    """The other speaker's question this turn answers ("Any fun plans for the summer?"): the message just before it
    in the same conversation, when that ends with a question of some substance, as (message, question)."""
    before = [o for o in observations if o.kind == "chat" and o.conversation == obs.conversation
              and (o.ts, o.id) < (obs.ts, obs.id)]
    if not before:
        return None
    previous = max(before, key=lambda o: (o.ts, o.id))
    asked = tx.sentences(previous.text or "")
    if not asked or not tx.is_question(asked[-1].text) or speaker_of(previous) == speaker_of(obs):
        return None
    question = " ".join(asked[-1].text.split())
    return (previous, question) if len(tx.content_words(question)) >= 2 else None


def speaker_facts(items: Sequence[Statement], observations: Sequence = ()) -> list[Candidate]:
    """What a named speaker of a group chat says: their profile per fact family, and each turn that states something.

    A profile ("Melanie: preferences") gathers the speaker's lines of one
    family across the conversation, as a core block does for the user; a turn's
    own memory quotes what the turn states, and the plans it tells (questions,
    conditions, small talk and praise of the listener left out), with the day it was said, citing that
    turn, and the question it answers when the message before it in
    ``observations`` asked one (that message is cited too: the memory quotes it).
    """
    out: list[Candidate] = []
    turns: dict[int, list[Statement]] = {}
    for statement in items:
        if statement.speaker:
            turns.setdefault(statement.obs.id, []).append(statement)
    for statements in turns.values():
        first = statements[0]
        speaker = first.speaker
        for statement in statements:
            groups = _group_clauses(statement)
            if not groups and _DOINGS.search(" ".join(statement.clauses)):
                groups = [("activities", ", ".join(statement.clauses))]
            for family, text in groups:
                line = f"{speaker}: {_line(text)}"
                name = f"{speaker}: {family}"
                out.append(Candidate(
                    "semantic", {"name": name, "summary": f"What {speaker} said about their {family}", "details": line},
                    [statement.obs.id], key=("entity", entity_key(name)), text=line,
                    meta={"lines": [line], "kinds": [statement.kind], "relation": None,
                          "order": (statement.obs.ts, statement.obs.id, statement.index)},
                ))
        stated = {s.index: s for s in statements}
        said = []
        for index, sentence in enumerate(tx.sentences(first.obs.text or "")):
            if index in stated:
                if _states_something(stated[index], speaker):
                    said.append(_line(", ".join(stated[index].clauses)))
            elif _is_plan(sentence.text):
                said.append(_line(sentence.text))  # "We're thinking about going camping next month."
        if len(tx.content_words(" ".join(said))) < MIN_TURN_WORDS:
            continue  # "Wow, that's great!" states nothing about the speaker
        # When it was said, so that "last week" and "next month" keep their time ("Melanie, 27 June 2023: ...").
        line = f"{speaker}, {datetime.fromtimestamp(first.obs.ts).strftime('%d %B %Y').lstrip('0')}: " + " ".join(said)
        # What the turn answers, in the asker's words: "It was Matt Patterson" is about the concert asked about.
        asked = _question_before(first.obs, observations)
        details = f"Asked by {speaker_of(asked[0])}: {asked[1][:MAX_SENTENCE_CHARS]}" if asked else None
        out.append(Candidate(
            "semantic", {"name": speaker, "summary": line[:MAX_SENTENCE_CHARS * 3], "details": details},
            ([asked[0].id] if asked else []) + [first.obs.id],
            key=("said", speaker.lower(), tx.normalised(line)), text=line,
            meta={"order": (first.obs.ts, first.obs.id, first.index)},
        ))
    return out


# -- entities ------------------------------------------------------------------------------------------------


@dataclass
class _Entity:
    name: str
    relation: str | None = None
    lines: list[str] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)
    order: tuple = ()
    kinds: list[str | None] = field(default_factory=list)


def _clean_name(name: str) -> str:
    name = re.sub(r"['’]s$", "", name.strip().rstrip("'’.,"))
    return " ".join(name.split())


def entity_key(name: str) -> str:
    """How entity names are compared: without a title, lowercased ("Dr. Okonkwo" and "Okonkwo" are one)."""
    bare = re.sub(rf"^(?:{tx.HONORIFIC})\s+", "", name.strip())
    return " ".join(bare.lower().split())


def _valid_name(name: str, *, related: bool = False) -> bool:
    """A word that can be a name: not a function word, a contraction ("I'm"), a sentence adverb ("Thankfully"),
    a gerund ("Volunteering") or a number; a month or weekday only when a relation word introduced it ("my
    sister June")."""
    bare = entity_key(name)
    first = bare.split()[0] if bare else ""
    if not first or len(first) < 2 or first in _NOT_NAMES or first in tx.STOPWORDS or \
            first in tx.DATE_WORDS and not related:
        return False
    if re.search(r"['’](?:m|ve|re|ll|d|t)$|n['’]t$", first) or re.fullmatch(r"[\d\W]+", bare):
        return False
    return not (len(first) > 5 and first.endswith("ing") or len(first) > 6 and first.endswith("ly"))


def _mentions(statement: Statement, known: dict[str, _Entity], own_names: set[str],
              is_known: Callable[[str], bool]) -> list[tuple[str, str | None]]:
    """``(name, relation)`` of every entity a statement is about."""
    found: list[tuple[str, str | None]] = []
    parts = tx.factual_clauses(tx.strip_lead_in(statement.text)) or statement.clauses
    text = " , ".join(parts)
    addresses = [a.value for a in lookups.find_addresses(statement.text)]

    def add(name: str, relation: str | None) -> None:
        name = _clean_name(name)
        key = entity_key(name)
        if any(name in address for address in addresses):
            return  # "Calle de Alcalá" in "Calle de Alcalá 120, 28009 Madrid" is a street of an address: the vault's
        if not _valid_name(name, related=bool(relation)) or key in own_names or any(entity_key(n) == key for n, _ in found):
            return
        if re.fullmatch(tx.HONORIFIC, name) or any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", n) for n, _ in found):
            return  # "Dr" alone, or a part of a name already found
        found.append((name, relation))

    for pattern in _REL_PATTERNS:
        for match in pattern.finditer(text):
            rel = match.group("rel").lower()
            if _PLACE_OF_WORK.search(match.group("name")):
                continue  # "my GP, Riverside Surgery": where the GP works, not who the GP is
            if " from " in match.group():
                rel = f"from the user's {rel}" if re.search(r"(?i)\bfrom\s+(?:my|our)\s", match.group()) else f"from {rel}"
            add(match.group("name"), rel)
    for match in _THEIR_PATTERN.finditer(text):
        add(match.group("name"), None)
    for part in parts:
        match = _OWN_THING.match(part)
        if match and match.group("name").split()[0].lower() not in tx.DATE_WORDS and \
                not re.search(r"\d", match.group("name").split()[0]):
            add(match.group("name"), match.group("rel").lower())
    for match in _POSSESSOR.finditer(text):
        add(match.group("name"), None)
    for match in _TITLED.finditer(text):
        add(match.group("name"), None)
    for pattern in _ORG_PATTERNS:
        for match in pattern.finditer(text):
            add(match.group("name"), None)
    for clause in parts:
        match = _SUBJECT.match(clause)
        if not match:
            continue
        name = _clean_name(match.group("name"))
        several_words = len(name.split()) >= 2
        copula = re.match(r"(?i)(?:is|was|ist|war|est|es|está|é|['’]s)$", match.group("verb"))
        if not several_words and entity_key(name) not in known and not is_known(name) and copula and \
                not _PERSON_PREDICATE.match(clause[match.end("name") :]):
            continue  # "Membership is 45 pounds", "Dinner is at 8": a capital at a sentence start is not yet a name
        add(name, None)
    # An entity already known, named again ("Priya's birthday is 4 March"), also in a lead-in ("Aiko changed
    # schools: she now goes to ...").
    for match in re.finditer(_NAME, f"{statement.text} , {text}"):
        name = _clean_name(match.group())
        if entity_key(name) in known or (len(name) >= 3 and is_known(name)):
            add(name, None)
    return found


def entity_facts(items: Sequence[Statement], is_known: Callable[[str], bool] = lambda name: False) -> list[Candidate]:
    """Semantic memories about the people, pets, organisations, places and projects the user names.

    ``is_known(name)`` says whether the store already has a memory about that name: a
    later mention of it ("Priya's birthday is 4 March, not the 14th") belongs to it too.
    """
    entities: dict[str, _Entity] = {}
    own_names = _own_names(items) | {entity_key(s.speaker) for s in items if s.speaker}  # speakers speak for themselves
    topic: tuple[_Entity, Any] | None = None  # (entity, observation) a definition made the topic
    last_person: _Entity | None = None
    last_obs = None
    for statement in items:
        obs = statement.obs
        if last_obs is not None and obs.id != last_obs.id and (
                obs.ts - last_obs.ts > TOPIC_FOLLOW_SECONDS or obs.conversation != last_obs.conversation):
            last_person = topic = None
        last_obs = obs
        said = lookups.describe_addresses(tx.strip_lead_in(statement.text))
        line = _line(", ".join(tx.factual_clauses(said) or statement.clauses))
        if statement.speaker:
            line = f"{statement.speaker}: {line}"
        mentioned = _mentions(statement, entities, own_names, is_known)
        if statement.about:
            name = statement.about[0]
            mentioned = [statement.about] + [m for m in mentioned if entity_key(m[0]) != entity_key(name)]
            if name.lower() not in line.lower():
                line = f"{name}: {line}"  # "Kwame: nurse, nights at St Brigid's."
        targets: list[_Entity] = []
        for name, relation in mentioned:
            key = entity_key(name)
            entity = entities.get(key)
            if entity is None:
                entity = entities[key] = _Entity(name, relation, order=(obs.ts, obs.id, statement.index))
            elif relation and not entity.relation:
                entity.relation = relation
            targets.append(entity)
        # "Project Atlas is the ...", and a thing of the user's with a name ("Our choir is the Cantores Minores"):
        # what follows ("It rehearses in the crypt ...") is about it.
        definition = _DEFINITION.match(statement.clauses[0])
        own = _OWN_THING.match(statement.clauses[0])
        if own and _PERSON_RELATION.match(own.group("rel")):
            own = None
        for found in (definition, own):
            defined = entities.get(entity_key(_clean_name(found.group("name")))) if found else None
            if defined is not None:
                topic = (defined, obs)
                break
        if not mentioned and _PRONOUN_START.match(statement.text) and last_person is not None:
            targets.append(last_person)
        if topic is not None and topic[0] not in targets and (obs.id == topic[1].id or not mentioned):
            targets.append(topic[0])  # the people it names get the line too, with the topic as context
        if mentioned:
            last_person = targets[0]
        for entity in targets:
            if any(updates.restates(line, old) == "same" for old in entity.lines):
                continue
            context = ""
            if topic is not None and entity is not topic[0] and topic[0].name.lower() not in line.lower():
                context = f"{topic[0].name}: "
            entity.lines.append(context + line)
            entity.kinds.append(statement.kind)
            if obs.id not in entity.sources:
                entity.sources.append(obs.id)
    out = []
    for entity in entities.values():
        if not entity.lines:
            continue
        if entity.relation and entity.relation.startswith("from "):
            summary = f"{entity.name}, {entity.relation}"  # "Priyanka, from accounting"
        else:
            summary = f"{entity.name}, the user's {entity.relation}" if entity.relation else entity.name
        out.append(Candidate(
            "semantic", {"name": entity.name, "summary": summary, "details": "\n".join(entity.lines)}, entity.sources,
            key=("entity", entity_key(entity.name)), text=f"{summary}: {entity.lines[0]}",
            meta={"lines": list(entity.lines), "kinds": list(entity.kinds), "relation": entity.relation,
                  "order": entity.order},
        ))
    return out


def _own_names(items: Iterable[Statement]) -> set[str]:
    """The user's own names, from "I'm X" / "my name is X": never an entity of their own."""
    names: set[str] = set()
    for statement in items:
        for clause in statement.clauses:
            match = re.search(rf"(?i)\b(?:my\s+name\s+is|call\s+me|(?-i:I['’]m|I\s+am)|je\s+m['’]appelle|me\s+llamo|"
                              rf"ich\s+hei(?:ß|ss)e|chamo-me|me\s+chamo|(?-i:[Ss]ou\s+o|[Ss]ou\s+a|[Ss]oy))\s+(?P<name>{_NAME})", clause)
            if match:
                for part in _clean_name(match.group("name")).split():
                    names.add(part.lower())
                names.add(entity_key(_clean_name(match.group("name"))))
        if statement.speaker:
            names.discard(statement.speaker.lower())
    return names


def updates_of(items: Sequence[Statement], core: Sequence[Candidate], entities: Sequence[Candidate]) -> list[updates.Update]:
    """The user's statements that correct or end earlier facts (or move an event), to apply across memory types.

    Changes within a fact family or about one person are the family's and the
    entity's own business (``Applier``); these reach everything else.
    """
    out = []
    for statement in items:
        if statement.speaker:
            continue
        kind = statement.kind
        if kind not in ("correct", "end") and updates.rescheduled(statement.text, statement.obs.ts):
            kind = "correct"
        if kind not in ("correct", "end"):
            continue
        order = (statement.obs.ts, statement.obs.id, statement.index)
        families = {c.fields["label"] for c in core if c.meta.get("order") == order}
        about = {c.key[1] for c in entities if any(statement.text[:60] in line or ", ".join(statement.clauses)[:60] in line
                                                   for line in c.meta.get("lines") or [])}
        out.append(updates.Update(statement.obs.id, statement.obs.ts, statement.text, kind, tx.negated_values(statement.text),
                                  families, about, order, statement.obs.text or ""))
    return out
