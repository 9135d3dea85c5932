"""Operation of a question (define, list, count, compare, explain, example, phase, meta,
onboarding): nearest neighbours over a labelled bank of example questions, plus cue words.

The bank (`assistant/data/operation_examples.yaml`) is embedded at index build with the same
question prompt as user questions, so classifying costs one matrix product with the question
vector retrieval has already computed. Cue words are few and strong ("wie viele", "Unterschied",
"Beispiel"); the neighbours decide everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from assistant.domain import Operation
from assistant.frames.lexicon import fold_text

BANK_FILE = Path(__file__).resolve().parent.parent / "data" / "operation_examples.yaml"


def load_bank(path: Path = BANK_FILE) -> list[tuple[str, Operation]]:
    """(example question, operation) pairs of the bank, in file order."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [(str(q), Operation(op)) for op, questions in raw.items() for q in questions]


@dataclass(frozen=True)
class Cue:
    operation: Operation
    pattern: re.Pattern
    weight: float
    needs: str | None = None  # "target": only when the question names what to list; "short": at most 9 words
    unless: re.Pattern | None = None  # the cue does not count when this matches too

    def applies(self, folded: str, has_target: bool, has_phase: bool) -> bool:
        """Does the cue count for this folded question (its condition met, its pattern found)?"""
        if (self.needs == "target" and not has_target) or (self.needs == "phase" and not has_phase):
            return False
        if self.needs == "short" and len(folded.split()) > 9:
            return False
        return bool(self.pattern.search(folded)) and not (self.unless and self.unless.search(folded))


def _cue(op: Operation, pattern: str, weight: float, needs: str | None = None, unless: str | None = None) -> Cue:
    return Cue(op, re.compile(pattern), weight, needs, re.compile(unless) if unless else None)


# "Welche Treiber unterscheidet die Studie?" asks what it names: after a which-word the verb
# "unterscheiden" lists, it does not compare (the noun "Unterschied" still compares).
_WHICH_DISTINGUISHES = r"^(welche[rsmn]?|which)\b(?!.*unterschied)(?!.*vergleich)(?!.*differen)"


# "Gibt's ein vergleichbares Beispiel für P2?", "a comparable case": another example like it, no comparison
_SIMILAR_EXAMPLE = r"vergleichbare?[snmr]? (\w+ )?(beispiel|praxisbeispiel|fall|projekt|losung)|\bcomparable (\w+ )?(example|case|project)"


# "Was raten die Autoren für den Regelbetrieb?", "What do the authors recommend …?": the authors
# as the ones who advise, which asks for the study's content, not for facts about the study.
_AUTHORS_ADVISE = (
    r"\b(raten|rat|empfehlen|empfiehlt|sagen|schreiben|meinen|schlagen|sehen|halten|fordern|betonen|sehen|"
    r"recommend|suggest|say|advise|argue|propose)\w*\b.{0,25}\b(autor|author)|"
    r"\b(autor|author)\w*\b.{0,20}\b(raten|empfehlen|sagen|meinen|vorschlagen|schlagen|fordern|betonen|recommend|suggest|say|advise|argue|propose)|"
    r"\b(laut|nach ansicht|nach meinung) (den |der )?autor|according to the author"
)


# "Kennt die Studie ein Beispiel für einen Pilot, den eine Uni wissenschaftlich begleitet hat?": a
# good practice described by words that elsewhere ask about the study itself
_ASKS_EXAMPLE = r"|\bbeispiel|\bexample\b|\bgood practice\b"


# How the roadmap is built: its parts (criteria, drivers, phases, funding mechanisms). Also the cue of
# the meta answer's "structure" facet (answer/meta.py).
STRUCTURE = (
    r"woraus besteht (die|das|diese) (roadmap|studie|dossier|tool)|wie ist (die|das) (roadmap|tool)( eigentlich| genau| denn| grob)? aufgebaut|aufbau der roadmap|"
    r"bausteine der roadmap|bestandteile der roadmap|(roadmap|it) (is )?(built up|structured|made up)|building blocks|"
    r"what does the roadmap consist of|structure of the roadmap"
)


# Patterns run on folded text (lower case, umlauts as base letters, ß as ss).
CUES: tuple[Cue, ...] = (
    _cue(Operation.COUNT, r"\bwie ?viele?[nr]?\b|\banzahl\b|\bhow (many|much)\b|\bnumber of\b", 1.0),
    _cue(Operation.COMPARE, r"unterschied|vergleich|\bvs\b|\bversus\b|gegenuber|im gegensatz|dasselbe|"
         r"das gleiche|\bdifferen|\bdiffer|\bcompare|\bcomparison", 0.9, unless=_SIMILAR_EXAMPLE),
    _cue(Operation.COMPARE, r"^(?!.*(unterschied|vergleich|\bdiffer|gegenuber|\bvs\b|versus)).*unterscheid", 0.9, unless=_WHICH_DISTINGUISHES),
    _cue(Operation.EXAMPLE, r"beispiel|\bexample|vorbild|praxis ?beispiel|praxisfall\w*|referenzprojekt\w*|\buse cases?\b|\bcase stud(y|ies)\b|\b(a|an|ein|eine|any|some) (good|best) practice\b|"
         r"welche (stadt|kommune|stadte|kommunen) ha(t|ben)|wer hat (das|so etwas|es) (schon|bereits)|which cit(y|ies) ha|"
         # "Hat das im öffentlichen Sektor irgendwer hingekriegt?", "Haben andere Städte da schon was
         # ausprobiert?", "Has any group of municipalities pulled that off?": someone who did it
         # "Kennst du eine Modellkommune, die ein Pilotprojekt gut hingekriegt hat?"
         r"\b(irgendwer|irgendjemand|jemand|andere (stadte|kommunen|gemeinden)|(eine|einen) \w*(kommune|stadt|gemeinde))\b.{0,40}\b(geschafft|hingekriegt|hinbekommen|umgesetzt|ausprobiert|erprobt|gemacht)\b|"
         r"\bha(s|ve) (anyone|anybody|any (city|cities|municipalit\w*|town|group|other))\b.{0,50}\b(done|pulled|managed|tried|implemented|built)\b|"
         r"\bis there (a|any) (case|instance|city|municipality|town)\b|\b(gibt es|kennst du|kennen sie) (einen|ein) (fall|praxisfall|projekt)\b|"
         # "Und wo wurde das schon mal umgesetzt?", "Where has this been done?": a place that did it
         # "Hat das schon mal eine Stadt konkret so gemacht?", "Hat eine Kommune das schon umgesetzt?"
         r"\bha(t|ben) ((das|es|so etwas|sowas|dies) )?(schon |bereits )?((mal|einmal) )?(eine|irgendeine|andere|welche) "
         r"(andere )?(stadt|kommune|gemeinde|stadte|kommunen|gemeinden)\b|"
         r"\bwo (wurde|wird|ist|gibt es) (das|so etwas|sowas|es|dies)\b.{0,30}\b(umgesetzt|eingesetzt|gemacht|ausprobiert|erprobt|realisiert|im einsatz)\b|"
         r"\bwhere (has|have|was|is) (this|that|it|something like (this|that))\b.{0,30}\b(done|implemented|used|tried|in use)\b", 0.7),
    _cue(Operation.LIST, r"(^|[.!?]\s+)(bei |in |zu |an |von |mit |for |in |of )?(welche|welcher|welches|welchen|which|what are the|was sind die|was sind alle)\b|"
         r"\b(nenn|liste|list|name (all|the)|aufzahl|auflisten|zahl \w+ auf|zusammenfass|fass\w* .{0,40}zusammen|summari[sz]e)|\balle\b|\bsamtliche\b|\buberblick\b|\bubersicht\b", 0.8, "target"),
    _cue(Operation.DEFINE, r"^(was (ist|sind|bedeutet|bedeuten|heisst|meint|versteht man)|was genau (ist|sind|meint)|"
         r"definition|define|what (is|are|does)|erklar\w* (mir )?(den |kurz )?begriff|begriff)\b|"
         r"was (ist|sind) (damit|darunter|hier|dabei) (genau |eigentlich )?gemeint|was versteht man (darunter|unter)", 0.45, "short"),
    # "Was versteht die Roadmap unter Wirkungsorientierung?": the study as the one who defines, which
    # asks for a definition, not for facts about the study (its neighbours in the bank are meta questions)
    _cue(Operation.DEFINE, r"\bwas versteh(t|en) (die (studie|roadmap|autor\w*)|das dossier|der katalog)( (eigentlich|genau|denn|konkret|so))* (darunter|unter)|"
         r"\bwhat do(es)? (the )?(study|roadmap|dossier|authors?|catalogue) mean by|"
         # the term first, then the question ("Skalierungstreiber – was ist das?", "MVP: what is that?"),
         # not a follow-up that points back ("Und das mit der Mystique – was ist das?")
         r"^(?!(und|and|aber|but|also|das|dies|the|this|that)\b)[\w -]{3,40}(\s[-\u2013:]\s*|:\s*)(was (ist|sind|bedeutet|heisst) (das|denn das|damit gemeint)|what (is|are|does) (that|this|it)( mean)?)\W*$", 0.9),
    _cue(Operation.META, r"\bautor|\bauthor|herausgeb|\bpublisher|geschrieben|verfasst|\bdoi\b|\bisbn\b|erschienen|"
         r"\bimpressum|in auftrag|in wessen auftrag|auftraggeber|(wissenschaftlich|fachlich) begleitet|wer hat (die|das) (studie|dossier)|"
         r"welchen stand|stand der (studie|roadmap)|\bbehalf\b|commissioned|institut|\bwhich year|aus welchem jahr|"
         r"\bwho (wrote|published|commissioned|put (out )?(this|the) (study|roadmap|dossier))|\bpublished\b|\bwritten\b|(studie|dossier|study) (erstellt|entwickelt)|"
         r"(methode|method|methodik|vorgehen) (der|des|of the|zur)? ?(studie|dossier|study|roadmap)|"
         r"wie wurde (die|das) (studie|dossier|roadmap) (entwickelt|erstellt|erarbeitet)|how was the (study|roadmap|dossier)|"
         # how the study was made ("Wie ist die Studie methodisch entstanden?", "What methodology …?")
         r"\bmethodisch|\bmethodolog|(studie|dossier|roadmap) (eigentlich )?(methodisch )?entstanden|how did the (study|roadmap|dossier) come about|"
         r"online.?(tool|roadmap|version)|wo finde ich die (roadmap|studie)|\burl\b|webseite|website|"
         # how the roadmap is built ("Woraus besteht die Roadmap?", "What are its main building blocks?")
         + STRUCTURE, 0.8, unless=_AUTHORS_ADVISE + _ASKS_EXAMPLE),
    # who stands behind the study and what it rests on ("Von wem stammt diese Roadmap?", "Worauf
    # stützen die ihre Empfehlungen?", "Wie viele Leute haben die interviewt?"): outweighs "wie viele"
    _cue(Operation.META, r"\bvon wem (stammt|stammen|kommt|ist) (die|das|diese[rsn]?)\b[\w\s-]{0,25}\b(studie|roadmap|dossier|katalog)|"
         r"wer (steckt|steht|stehen) (eigentlich |denn |genau )?hinter (der |dem |die |das |diese[rmn]? )?[\w-]{0,20}(studie|roadmap|dossier|papier|untersuchung|bericht)|who('?s| is) behind the (study|roadmap|dossier|report|paper)|"
         # who paid for it, which office or ministry it comes from, whom to contact ("Wer hat die
         # Untersuchung bezahlt?", "Von welchem Amt kommt das Ding?", "Who funded the study?")
         r"\bwer hat (die|das|diese[ns]?) (studie|roadmap|dossier|papier|untersuchung|bericht|ding|ganze)\b.{0,20}\b(bezahlt|finanziert|gefordert|beauftragt)|"
         r"\bwho (funded|paid for|financed) (the|this) (study|roadmap|dossier|report|research)|"
         r"\bvon welche[mr] (amt|behorde|institut|ministerium|stelle|bundesamt|einrichtung)\b|\bwelche[sr]? (ministerium|bundesministerium|behorde|bundesamt)\b.{0,20}\b(dahinter|steckt|steht)|"
         r"\b(ansprechpart\w*|kontakt\w*)\b.{0,25}\b(studie|roadmap|dossier|bbsr)|\bcontact\b.{0,25}\b(study|roadmap|dossier|bbsr)\b|"
         r"\bwie (aktuell|neu|alt) ist (die|das|diese[rs]?) (studie|roadmap|dossier)|how (recent|current|up to date|old) is the (study|roadmap|dossier)|"
         r"\b(herunterladen|runterladen|download\w*)\b|"
         r"wie (sind|ist|kamen|kam) (die|sie|die autor\w*|das team|die studie) (eigentlich |denn )?(zu|auf) (ihren|den|diesen|ihre|die) (ergebnissen|erkenntnissen|ergebnisse|erkenntnisse|kriterien)|"
         r"\b(wer|wen|wie viele|mit wie vielen|how many|who)\b.{0,70}\b(befragt|interviewt|gesprochen|interviewed|surveyed|consulted|talked|spoke)\b|"
         r"\b(wurden?|haben|hat)\b.{0,30}\b(befragt|interviewt)\W*$|"
         r"worauf (stutz|beruh|basier)\w* (sich )?(die|sie|die autor\w*|die studie|das dossier|die roadmap|ihre)\b|"
         # "Auf welches ältere Papier stützt sich die Studie …?"
         r"\bauf welche[sn]?\b.{0,40}\b(stutzt|beruht|basiert|bezieht) sich (die|das) (studie|roadmap|dossier)\b|"
         r"what (is|are) (the study|the roadmap|its|their) (findings |recommendations )?based on", 1.6, unless=_AUTHORS_ADVISE),
    _cue(Operation.ONBOARDING, r"\bneu\b.{0,30}\b(team|hier|dabei|im thema|in der)|\bneuling|\beinsteig|\beinstieg|"
         r"\b(fur mich )?als neue[rn]?\b|\bzur orientierung\b|\bfrisches team\b|"
         r"wo (fang|fange|fangen|beginne|beginnen|starte|starten)|womit (fang|fange|fangen|beginne|beginnen|starte|starten)|"
         # "ich bin seit letzter Woche im Smart-City-Büro und soll mich einlesen"
         r"\b(einlesen|einarbeiten|einzuarbeiten|einzulesen|reinfinden|einarbeitung)\b|"
         r"\bseit (kurzem|(letzter|einer|zwei|drei|ein paar|wenigen|diesem|dieser) ?(woche|wochen|tag|tagen|monat|monaten))\b.{0,40}\b(team|buro|amt|abteilung|stelle|hier|dabei)\b|"
         r"\b(wo|womit)\b.{0,25}\banfangen\b|\bwie (soll|sollte|kann|konnen|sollen) (ich|wir|man) (am besten |denn |jetzt )?anfangen\b|erste schritte|wie (starten|beginnen) wir|getting started|get started|where (do|should) (i|we) start|"
         r"\bnew (to|in|on) the|first steps|\b(gerade|eben|neu|frisch) (angefangen|begonnen|eingestiegen|gestartet|dazugekommen)|"
         r"\b(ich|wir) (habe|haben|bin|sind)\b.{0,50}\b(angefangen|begonnen|eingestiegen|angetreten)\b|\b(i'?m|i am|we are|we're) new\b|"
         r"\bjust (started|joined)|"
         # "First week in our city's digital unit …", "Meine erste Woche im Team …", "give me a quick intro"
         r"\b(my|our) first (day|days|week|weeks|month)\b|\bfirst (day|days|week|weeks|month) (in|at|on|with)\b|"
         r"\b(meine|meiner|meinen|unsere) erste[nr]? (tag|tage|woche|wochen|monat)\b|\berste[nr]? (tag|tage|woche|wochen) (im|in|bei)\b|"
         r"\bgive (me|us) an? (quick |short |brief )?(intro|introduction)\b|"
         # "Was kannst du mir eigentlich zu dieser Roadmap erzählen?", "Tell me about the roadmap.": the
         # whole thing, asked in general
         r"\bwas kannst du (mir |uns )?(eigentlich |denn |so |alles )*(uber|zu) (die|der|diese[rm]?|das|dem) (roadmap|studie|dossier) ?(erzahlen|sagen)?\W*$|"
         r"\b(what can you tell (me|us)|tell (me|us)( something)?) about (the|this) (roadmap|study)\W*$", 1.0),
    _cue(Operation.PHASE, r"wichtig|beachten|worum geht|passiert|\bziel|aufgabe|zu tun|im vordergrund|worauf kommt|"
         r"\bfocus|\bmatter|\bhappen|\bimportant|what about|worauf (muss|sollte|mussen|sollten)", 0.55, "phase"),
    _cue(Operation.EXPLAIN, r"^(wie|warum|weshalb|wieso|wann|(ab|bis|seit) wann|wozu|woran|was (sollte|sollten|muss|mussen|kann|konnen|tun|"
         r"empfiehlt|sagt|bringt|heisst das|bedeutet das|folgt)|how|why|when|what should|what does the (study|roadmap) say|what follows)\b", 0.25),
    # "Welche Finanzierungsquellen nennt die Roadmap für die Verstetigung?": what the sources say
    # about something that is no kind of catalogue entry (a kind's list cue outweighs this one)
    _cue(Operation.EXPLAIN, r"^welche[nrs]? [\w-]+( [\w-]+){0,2} (nennt|nennen|beschreibt|beschreiben|sieht|sehen|kennt|schlagt|schlagen) (die|das|der) (studie|roadmap|dossier|autor\w*|leitfaden)\b|"
         r"^which [\w-]+( [\w-]+){0,2} does the (study|roadmap|dossier) (name|mention|list|describe|suggest)\b", 0.5),
    # asking for advice ("Was empfiehlt die Studie …?", "What does the study recommend …?")
    _cue(Operation.EXPLAIN, r"\b(empfiehlt|empfehlen|empfehlung\w*|rat|raten|ratschlag\w*|recommend\w*|advi[sc]e\w*|suggest\w*)\b", 0.5),
)


# Operations that only a cue word can choose: their example questions are close to many ordinary
# questions ("Lohnt sich eine Eigenentwicklung?" is neither a newcomer's question nor a request for a
# good practice). Example as cue-only: dev singles 71.0 -> 73.7 % together with the define and
# onboarding cue additions (docs/benchmarks.md, answer tuning log).
CUE_ONLY = (Operation.ONBOARDING, Operation.EXAMPLE)
_LEADING = re.compile(r"^((und|and|also|okay|ok|gut|danke|aber|so|nun|jetzt|zuruck zum thema|back to)\W+)+")


# A question opening with its verb asks yes or no ("Geht das …?", "Does that …?").
YES_NO = re.compile(
    r"^(und |and |aber |but |also |so )?(does|do|did|is|are|can|could|would|will|should|geht|funktioniert|klappt|ist|sind|"
    r"kann|konnen|muss|mussen|darf|durfen|gilt|lohnt|stimmt|braucht|brauchen|"
    # "Und lassen die sich auch kombinieren?", "Hilft das auch kleinen Kommunen?"
    r"lasst|lassen|hilft|helfen|passt|passen|sollte|sollten|soll|sollen)\b"
)

# The question after a newcomer's preamble ("Ich bin neu hier – was sind eigentlich …?",
# "I just joined the office. What does P3 cover?"): its last sentence or dash-separated clause.
_CLAUSES = re.compile(r"[.!?:;]\s+|\s[-\u2013\u2014]\s")
# Operations whose cue in that question outranks the preamble: they ask for something definite.
# (A bare "Wie …?" after "Ich bin neu" is still a newcomer's question: "Wie gehe ich vor?")
_DEFINITE = (Operation.DEFINE, Operation.LIST, Operation.COUNT, Operation.COMPARE, Operation.EXAMPLE,
             Operation.META, Operation.PHASE)


def last_clause(folded: str) -> str:
    """The last sentence or dash-separated clause of a folded question: after a preamble, the question."""
    parts = [part for part in _CLAUSES.split(folded.strip(" ?!.")) if part.strip()]
    return parts[-1].strip() if parts else folded


def cued(question: str, operation: Operation) -> bool:
    """Does a cue word of `operation` apply to the question (targets and phases aside)?"""
    folded = _LEADING.sub("", fold_text(question).strip())
    return any(cue.operation == operation and cue.applies(folded, False, False) for cue in CUES)


def _asks_after_preamble(folded: str, has_target: bool, has_phase: bool) -> bool:
    """Does a question that opens with a newcomer's preamble then ask something definite?"""
    question = last_clause(folded)
    if question == folded.strip(" ?!."):
        return False  # no preamble
    if any(cue.operation == Operation.ONBOARDING and cue.pattern.search(question) for cue in CUES):
        return False  # "Ich bin neu. Womit fange ich an?"
    if YES_NO.match(question):
        return True  # "Bin neu hier: Ist die Roadmap nur was für Kommunen, die selbst entwickeln?"
    return any(cue.operation in _DEFINITE and cue.applies(question, has_target, has_phase) for cue in CUES)


@dataclass(frozen=True)
class OperationGuess:
    operation: Operation
    confidence: float  # margin between the best and the second-best score
    cued: bool  # a cue word voted for the chosen operation
    scores: dict[str, float]


class OperationClassifier:
    """k nearest neighbours over the embedded bank, plus cue-word weights."""

    def __init__(self, labels: list[Operation], vectors: np.ndarray, k: int = 7):
        self.labels = labels
        self.vectors = vectors
        self.k = k

    def classify(self, question: str, vector: np.ndarray | None, *, has_target: bool, has_phase: bool) -> OperationGuess:
        scores = {op: 0.0 for op in Operation}
        if vector is not None and len(self.labels):
            sims = self.vectors @ vector
            top = np.argsort(-sims)[: self.k]
            weights = np.maximum(sims[top] - (sims[top[-1]] - 0.02), 0.0)  # relative to the k-th neighbour
            total = float(weights.sum()) or 1.0
            for idx, w in zip(top.tolist(), weights.tolist()):
                scores[self.labels[idx]] += w / total
        # "Und was bedeutet …?", "Okay, and how many …?": the cue follows the conjunction
        folded = _LEADING.sub("", fold_text(question).strip())
        cued: set[Operation] = set()
        for cue in CUES:
            if cue.applies(folded, has_target, has_phase):
                scores[cue.operation] += cue.weight
                cued.add(cue.operation)
        if Operation.ONBOARDING in cued and _asks_after_preamble(folded, has_target, has_phase):
            cued.discard(Operation.ONBOARDING)  # "Ich bin neu hier – was sind Fördermechanismen?"
        for op in CUE_ONLY:
            if op not in cued:
                scores[op] = 0.0  # never decided by neighbours alone
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        best, second = ranked[0], ranked[1]
        return OperationGuess(
            operation=best[0],
            confidence=round(best[1] - second[1], 4),
            cued=best[0] in cued,
            scores={op.value: round(s, 4) for op, s in ranked},
        )
