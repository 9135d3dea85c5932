"""Question frames without the model: entity linking, cue words, follow-up merging."""

from __future__ import annotations

import pytest

from assistant.corpus import Catalogue
from assistant.domain import Operation
from assistant.frames import Frame, FrameParser, Lexicon, OperationClassifier, Target, is_follow_up, points_back
from assistant.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon(Catalogue.load(PROJECT_ROOT / "corpus" / "catalogue" / "criteria.yaml"))


@pytest.fixture(scope="module")
def parser(lexicon) -> FrameParser:
    import numpy as np

    return FrameParser(lexicon, OperationClassifier([], np.zeros((0, 1), dtype="float32")))


def kinds(lexicon, text):
    return {(link.type, link.key) for link in lexicon.link(text).links}


def test_phases_are_linked_through_inflection_compounds_and_english(lexicon):
    assert ("phase", "P3") in kinds(lexicon, "Was muss ich in der Pilotphase beachten?")
    assert ("phase", "P4") in kinds(lexicon, "Was passiert in der Verstetigungsphase?")
    assert ("phase", "P3") in kinds(lexicon, "Welche Pilotphasen-Kriterien gibt es?")
    assert ("phase", "P5") in kinds(lexicon, "What about the transfer phase?")
    assert ("phase", "P2") in kinds(lexicon, "Und in P2?")
    both = kinds(lexicon, "Unterschied zwischen vertikaler und horizontaler Skalierung?")
    assert {("phase", "P4"), ("phase", "P5")} <= both
    # "Pilotphasen" is a phase, not the list target "Phasen"
    assert ("target", "phases") not in kinds(lexicon, "Welche Pilotphasen-Kriterien gibt es?")


def test_catalogue_entries_by_id_name_short_form_and_loose_wording(lexicon):
    assert ("criterion", "K14") in kinds(lexicon, "Was bedeutet K14?")
    assert ("good_practice", "GP03") in kinds(lexicon, "Was ist DIGIFARM?")
    assert ("good_practice", "GP04") in kinds(lexicon, "Was zeigt kulturis?")
    assert ("driver", "T4") in kinds(lexicon, "Kriterien zum Treiber Betriebsexzellenz durch Digitalisierung")
    # the phase's words alone do not name the criterion "Finanzierung vertikale Skalierung"
    assert ("criterion", "K26") not in kinds(lexicon, "Was ist vertikale Skalierung?")


def test_a_driver_is_named_by_one_word_next_to_the_kind_word(lexicon):
    """"der Treiber Team" names the one driver whose name holds "Team"; a word only one driver's
    description holds names it too; a word of several drivers names none."""
    catalogue = lexicon.catalogue
    team = [d.id for d in catalogue.drivers if "Team" in d.name]
    assert len(team) == 1
    assert ("driver", team[0]) in kinds(lexicon, "Welche Kriterien gehören zum Treiber Team?")
    assert ("driver", team[0]) in kinds(lexicon, "Which criteria belong to the team driver?")
    assert not {k for k in kinds(lexicon, "Welche Kriterien hat der Treiber Ressourcen?") if k[0] == "driver"}


def test_a_good_practice_is_named_without_the_words_smart_city(lexicon):
    """"Smart City" opens many names and says little: "das Research Lab in Bamberg" names the lab."""
    lab = next(g for g in lexicon.catalogue.good_practices if "Research Lab" in g.name)
    assert ("good_practice", lab.id) in kinds(lexicon, "Was macht das Research Lab in Bamberg?")


def test_gender_forms_and_umlaut_spellings_meet(lexicon):
    assert ("operator_type", "zivilgesellschaftliche Organisation/Initiative") in kinds(lexicon, "Können Vereine eine Lösung betreiben?")
    assert ("target", "drivers") in kinds(lexicon, "Welche Skalierungstreiber gibt es?")
    assert ("workstream", "finanziell") in kinds(lexicon, "Welche Kriterien sind finanziell?")


@pytest.mark.parametrize(
    "question, operation",
    [
        ("Wie viele Kriterien gibt es in P4?", Operation.COUNT),
        ("How many scaling drivers are there?", Operation.COUNT),
        ("Was ist der Unterschied zwischen Prototyp und Pilot?", Operation.COMPARE),
        ("Gibt es ein Beispiel für offene Schnittstellen?", Operation.EXAMPLE),
        ("Welche Kriterien sind Meilensteine?", Operation.LIST),
        ("Wer hat die Studie geschrieben?", Operation.META),
        ("Ich bin neu im Smart-City-Team. Womit fange ich an?", Operation.ONBOARDING),
        ("Was muss ich in der Pilotphase beachten?", Operation.PHASE),
        ("Is there a good practice for it?", Operation.EXAMPLE),
        ("Proof of Concept – was ist damit gemeint?", Operation.DEFINE),
        ("Zur Orientierung für mich als Neuer: Was sollte ich lesen?", Operation.ONBOARDING),
        ("Ich habe gerade im Digitalisierungsteam angefangen. Was sollte ich über die Roadmap wissen?", Operation.ONBOARDING),
        ("I just joined the smart city team. What should I know?", Operation.ONBOARDING),
        ("Was muss eine Kommune über alle Phasen hinweg beachten?", Operation.PHASE),
        ("Und wo wurde so etwas schon umgesetzt?", Operation.EXAMPLE),
        ("Where has this been implemented?", Operation.EXAMPLE),
        ("Meine erste Woche im Digitalteam – was muss ich über die Roadmap wissen?", Operation.ONBOARDING),
        ("First week in the smart city office. Can you give me a quick intro?", Operation.ONBOARDING),
        ("Was kannst du mir zu der Roadmap erzählen?", Operation.ONBOARDING),
        ("What can you tell me about this roadmap?", Operation.ONBOARDING),
        ("Skalierungstreiber – was ist das?", Operation.DEFINE),
        ("MVP: what is that?", Operation.DEFINE),
        ("Und das mit der Mystique – was ist das?", None),  # a follow-up pointing back: no cue of its own
        ("Woraus besteht die Roadmap?", Operation.META),
    ],
)
def test_cue_words_decide_clear_cases_without_the_model(parser, question, operation):
    if operation is None:
        assert not parser.parse(question, None).cued
        return
    assert parser.parse(question, None).operation == operation


def test_the_municipality_is_no_topic(parser):
    """Every question here is about a municipality: "eine Kommune" must not turn a phase overview
    into an extract about the word "Kommune"."""
    assert parser.parse("Was muss eine Kommune in der Pilotphase beachten?", None).topic == []


def test_list_frames_carry_target_and_filters(parser):
    frame = parser.parse("Welche Kriterien sind Meilensteine?", None)
    assert frame.target == Target.CRITERIA and frame.milestone is True
    frame = parser.parse("Welche Kriterien gehören zum Treiber T2?", None)
    assert frame.target == Target.CRITERIA and frame.drivers == ["T2"]


def test_follow_up_replaces_what_it_names_and_inherits_the_rest(parser):
    first = parser.parse("Was muss ich in der Pilotphase beachten?", None)
    follow = parser.parse("Und in P4?", None)
    assert is_follow_up("Und in P4?", follow, first)
    merged = follow.follow(first)
    assert merged.operation == Operation.PHASE and merged.phases == ["P4"] and merged.follow_up

    example = parser.parse("Gibt es dafür ein Beispiel?", None)
    assert is_follow_up("Gibt es dafür ein Beispiel?", example, merged)
    merged2 = example.follow(merged)
    assert merged2.operation == Operation.EXAMPLE and merged2.phases == ["P4"]

    listing = parser.parse("Welche Kriterien gibt es in P1?", None)
    filtered = parser.parse("Welche davon sind Meilensteine?", None).follow(listing)
    assert filtered.operation == Operation.LIST and filtered.target == Target.CRITERIA
    assert filtered.phases == ["P1"] and filtered.milestone is True


def test_a_question_with_its_own_topic_is_not_a_follow_up(parser):
    first = parser.parse("Was muss ich in der Pilotphase beachten?", None)
    other = "Wie definiert das Glossar den Begriff Betreibermodell?"
    assert not is_follow_up(other, parser.parse(other, None), first)
    assert not is_follow_up("Und in P4?", parser.parse("Und in P4?", None), None)  # nothing to follow


def test_frame_is_part_of_the_answer_contract():
    from assistant.schema import Answer

    answer = Answer(question="q", answer="a", abstained=False, frame=Frame(operation=Operation.LIST, target=Target.CRITERIA, phases=["P3"]))
    contract = answer.to_contract()
    assert contract["frame"]["operation"] == "list" and contract["frame"]["phases"] == ["P3"]
    assert contract["intent"] is None and "citations" in contract  # the older fields stay


def test_questions_that_point_back_are_recognised():
    assert points_back("Aus welchen Jahren stammen die?")
    assert points_back("Wer hat es entwickelt?") and points_back("Who developed it, and when?")
    assert points_back("Gibt es dafür ein Beispiel?")
    assert not points_back("Wie wird das Wetter morgen?")  # "das" as an article
    assert not points_back("Gibt es in Hamburg ein Beispiel?")  # "es" of "gibt es"
    assert points_back("Unter welcher Lizenz steht es?")  # "es" is the earlier topic
    assert not points_back("Wie steht es um die Finanzierung?")  # "steht es um …" points nowhere


def test_only_a_cue_word_makes_a_question_an_example_request():
    import numpy as np

    # a bank whose every neighbour is an example request: without a cue word the neighbours do not decide
    bank = np.eye(2, dtype="float32")
    classifier = OperationClassifier([Operation.EXAMPLE, Operation.EXAMPLE], bank, k=2)
    vector = np.array([1.0, 0.0], dtype="float32")
    uncued = classifier.classify("Lohnt sich eine Eigenentwicklung grundsätzlich?", vector, has_target=False, has_phase=False)
    assert uncued.operation != Operation.EXAMPLE and uncued.scores[Operation.EXAMPLE] == 0.0
    cued = classifier.classify("Gibt es ein Beispiel für eine Eigenentwicklung?", vector, has_target=False, has_phase=False)
    assert cued.operation == Operation.EXAMPLE and cued.cued


@pytest.mark.parametrize(
    "question, operation",
    [
        ("Welche Treiber unterscheidet die Studie?", Operation.LIST),
        ("Worin unterscheiden sich P3 und P4?", Operation.COMPARE),
        ("Welche Unterschiede gibt es zwischen P3 und P4?", Operation.COMPARE),
    ],
)
def test_unterscheiden_after_a_which_word_lists(parser, question, operation):
    assert parser.parse(question, None).operation == operation


def test_a_singular_which_question_with_its_own_words_asks_for_one_entry(parser):
    frame = parser.parse("Welcher Treiber rät dazu, mit wenig eigener Technik auszukommen?", None)
    assert frame.operation == Operation.LIST and frame.which_one
    assert not parser.parse("Welche Treiber nennt die Roadmap?", None).which_one  # plural: the list
    assert not parser.parse("Zu welchem Treiber gehört K12?", None).which_one  # names an entry: about it


def test_the_whole_project_is_the_continuous_phase(lexicon):
    assert ("phase", "D") in kinds(lexicon, "Welche Themen begleiten uns durch das gesamte Projekt?")
    assert ("phase", "D") in kinds(lexicon, "What matters throughout the whole project?")


def test_starting_something_is_not_a_newcomer_question(parser):
    """"anfangen" makes a newcomer's question only as "wo/womit/wie soll ich anfangen"."""
    assert parser.parse("Wo soll ich anfangen?", None).operation == Operation.ONBOARDING
    frame = parser.parse("Wie finde ich heraus, was die Nutzer brauchen, bevor wir mit dem Programmieren anfangen?", None)
    assert frame.operation != Operation.ONBOARDING


def test_a_list_target_heads_a_later_sentence_or_follows_a_polite_request(parser):
    """"Unsere App läuft aus. Welche Betreibermodelle …" and "Kannst du mir die Kernergebnisse …
    zusammenfassen?" ask for the list; a target word deep inside a sentence does not."""
    assert parser.parse("Unsere Bürger-App läuft bald aus der Förderung. Welche Betreibermodelle stellt das Dossier zur Wahl?", None).operation == Operation.LIST
    assert parser.parse("Kannst du mir die Kernergebnisse des Dossiers knapp zusammenfassen?", None).operation == Operation.LIST
    assert parser.parse("Auf welche Quelle stützt sich die Einteilung der Treiber?", None).operation != Operation.LIST


def test_darum_and_darauf_point_back():
    assert points_back("Ab wann hätten wir uns darum kümmern sollen?")
    assert points_back("Was folgt darauf?")


def test_ab_wann_asks_for_an_explanation(parser):
    assert parser.parse("Ab wann sollten wir uns um das Betreibermodell kümmern?", None).operation == Operation.EXPLAIN


def test_capitalised_words_are_the_nouns_and_names_after_the_first_word():
    from assistant.frames.lexicon import capitalised_words

    question = "Was sagt die McKinsey-Studie über Bürgerinnen und Bürger?"
    assert capitalised_words(question) == ["McKinsey-Studie", "Bürgerinnen", "Bürger"]
    assert capitalised_words(question, hyphenated=False) == ["McKinsey", "Studie", "Bürgerinnen", "Bürger"]


def test_asking_for_the_kinds_lists_what_the_previous_turn_named(parser):
    first = parser.parse("Was sind Fördermechanismen?", None)
    kinds = parser.parse("Welche Arten gibt es?", None)
    assert kinds.asks_kinds and not kinds.topic and is_follow_up("Welche Arten gibt es?", kinds, first)
    merged = kinds.follow(first)
    assert merged.operation == Operation.LIST and merged.target == Target.MECHANISMS
    # a term that is no list of the catalogue keeps the previous operation (its definition names the kinds)
    scaling = parser.parse("Was versteht die Studie unter Skalierung?", None)
    assert kinds.follow(scaling).operation == scaling.operation


def test_questions_asking_what_to_do_are_recognised():
    from assistant.frames.frame import asks_how_to

    assert asks_how_to("Unsere Förderung läuft aus. Wie kriegen wir die Lösung danach finanziert?")
    assert asks_how_to("Worauf sollte ich bei der Ausschreibung achten?")
    assert asks_how_to("Woher kann das Geld für den Regelbetrieb kommen?")
    assert asks_how_to("What should we prepare for the council?") and asks_how_to("How do we find partners?")
    assert asks_how_to("Was tun, wenn der Pilot nicht trägt?") and asks_how_to("Was ist zu tun, wenn die Förderung endet?")
    assert asks_how_to("What to do if the pilot fails?")
    assert not asks_how_to("Was ist ein Minimum Viable Product?")
    assert not asks_how_to("Wie viele Kriterien hat die Pilotphase?")
    assert not asks_how_to("Can a city simply copy how start-ups scale?")


def test_a_demonstrative_with_three_words_after_it_points_back():
    assert points_back("Müssen die unbedingt nacheinander ablaufen?")
    assert not points_back("Welche Phase ist die wichtigste?")


def test_a_misspelt_phase_number_still_names_the_phase(lexicon):
    assert lexicon.link("Was passiert eigentlich in Phse 1?").of("phase") == ["P1"]
    assert lexicon.link("what happens in phase4").of("phase") == ["P4"]


def test_a_long_compound_ending_in_ierung_names_its_entry():
    """'Wirkungsorientierung' occurs in one catalogue name only (a funding mechanism) and rarely in
    the dossier: the word alone names it."""
    dossier = next((PROJECT_ROOT / "corpus" / "dossier").glob("*.txt")).read_text(encoding="utf-8")
    catalogue = Catalogue.load(PROJECT_ROOT / "corpus" / "catalogue" / "criteria.yaml")
    lexicon = Lexicon(catalogue, corpus_texts=[p for p in dossier.split("\n\n") if p.strip()])
    mechanisms = [m.id for m in catalogue.mechanisms if "Wirkungsorientierung" in m.name]
    assert mechanisms and lexicon.link("Was bedeutet Wirkungsorientierung?").of("mechanism") == mechanisms


def test_a_phase_named_by_its_number_word_or_as_the_last_one(lexicon):
    assert lexicon.link("Phase vier – um was geht's da genau?").of("phase") == ["P4"]
    assert lexicon.link("Was ist in Phase zwei wichtig?").of("phase") == ["P2"]
    assert lexicon.link("Was passiert in der letzten Phase?").of("phase") == ["P5"]
    assert lexicon.link("What happens in the final phase of the roadmap?").of("phase") == ["P5"]


def test_dahinter_and_daraus_point_back():
    assert points_back("Welcher Skalierungstreiber steckt dahinter?")
    assert points_back("Was folgt daraus für uns?")


def test_english_they_points_back():
    assert points_back("Which sectors were they from?")
    assert points_back("What did their interviews show?")
    assert not points_back("Which sectors does the study name?")


def test_how_the_study_was_made_is_a_question_about_the_study(parser):
    frame = parser.parse("Wie ist die Studie methodisch entstanden – nur Literatur oder auch Gespräche?", None)
    assert frame.operation == Operation.META and frame.cued
    assert parser.parse("What methodology did the authors use?", None, "en").operation == Operation.META


def test_criteria_of_one_phase_asked_as_a_milestone_or_a_phase_question_are_listed(parser):
    milestone = parser.parse("Was ist in der Prototypenphase der entscheidende Meilenstein?", None)
    assert milestone.operation == Operation.LIST and milestone.target == Target.CRITERIA and milestone.phases == ["P2"]
    throughout = parser.parse("Gibt es Kriterien, die nicht zu einer bestimmten Phase gehören, sondern die ganze Zeit wichtig sind?", None)
    assert throughout.operation == Operation.LIST and throughout.phases == ["D"]
    assert parser.parse("Was ist ein Meilenstein?", None).operation != Operation.LIST  # the term, no phase


def test_who_may_run_a_solution_asks_for_the_operator_types(parser):
    frame = parser.parse("Und wer kommt als Betreiber in Frage?", None)
    assert frame.operation == Operation.LIST and frame.target == Target.OPERATOR_TYPES
    assert parser.parse("Who could be the operator of such a solution?", None, "en").target == Target.OPERATOR_TYPES


def test_any_good_practice_asks_for_an_example(parser):
    assert parser.parse("Any good practice for that?", None, "en").operation == Operation.EXAMPLE


@pytest.mark.parametrize(
    "question, phases",
    [
        ("Unser Pilot läuft richtig gut. Wie bringen wir die Lösung jetzt in den normalen Betrieb?", ["P4"]),
        ("Was ist das Ziel, wenn der Pilot geklappt hat?", ["P4"]),
        ("Der Prototyp ist fertig. Was jetzt?", ["P3"]),
        ("Der Prototyp steht, demnächst testen wir mit mehr Leuten. Worauf kommt es jetzt an?", ["P3"]),
        ("Nach dem erfolgreichen Pilot – was ist das Ziel der Verstetigungsphase?", ["P4"]),
        ("Our pilot went well. What now?", ["P4"]),
        ("Wie sorge ich dafür, dass der Pilot erfolgreich ist?", ["P3"]),  # not done yet
        ("Was muss in der Pilotphase gut laufen?", ["P3"]),
        # asked which phase it is now, without "nach": the one after the phase named as done
        ("Unser Prototyp ist fertig – welche Phase beginnt jetzt?", ["P3"]),
        # "nach": the answer steps from the phase named (explain.relative_phase), so the frame keeps it
        ("Der Pilot war erfolgreich. Welche Phase kommt nach dem Pilot?", ["P3"]),
    ],
)
def test_a_phase_named_as_done_moves_the_question_to_the_next_phase(parser, question, phases):
    assert parser.parse(question, None).phases == phases


@pytest.mark.parametrize(
    "question, phases",
    [
        ("Bei uns gibt es erst eine vage Idee. Welche Phase ist das?", ["P1"]),
        ("Two neighbouring towns want to use our app now. Which phase is that?", ["P5"]),
        ("Welche Phase hat die Roadmap für Ideen?", []),  # no situation of one's own
    ],
)
def test_a_which_phase_question_names_its_phase_by_the_situation_it_describes(parser, question, phases):
    assert [p for p in parser.parse(question, None).phases] == phases


def test_a_follow_up_naming_another_phase_repeats_the_list_for_it(parser):
    """After "Und in P2?" (one milestone listed), "Und wenn es … in den Regelbetrieb geht?" names P4:
    the same milestone list for P4, not a question about the one listed entry."""
    p2 = parser.parse("Welche Meilensteine hat P2?", None).model_copy(update={"listed": ["K11"], "criteria": ["K11"]})
    follow = parser.parse("Und wenn es nach der Förderung in den Regelbetrieb geht?", None).follow(p2)
    assert follow.operation == Operation.LIST and follow.phases == ["P4"] and follow.milestone is True


def test_asking_how_a_term_relates_after_a_list_is_no_new_list(parser):
    phases = parser.parse("In welcher Phase taucht die Exit-Strategie auf?", None)
    assert phases.operation == Operation.LIST and phases.target == Target.PHASES
    relation = parser.parse("Und was hat das mit Skaleneffekten zu tun?", None)
    assert relation.asks_relation
    follow = relation.follow(phases)
    assert follow.operation == Operation.EXPLAIN and follow.target is None
    assert not parser.parse("Welcher davon hat mit Geld zu tun?", None).asks_relation  # one of the list


def test_a_lower_case_question_gets_the_capitals_the_sources_give_its_words():
    from assistant.frames.casing import Truecaser

    texts = ["Die Verstetigung braucht eine Finanzierung. Wir müssen die Finanzierung früh klären.", "Die App und die Idee zählen; man kann finanzierung früh denken?"]
    casing = Truecaser(texts, min_share=0.6, min_tail=4)
    # nouns (capitalised in the sources away from a sentence start) and an unknown compound by its known tail
    assert casing.recased("wie sichern wir die finanzierung der bürger-app?", "de") == "wie sichern wir die Finanzierung der bürger-App?"
    assert casing.recased("was braucht die verstetigungsidee?", "de") == "was braucht die Verstetigungsidee?"
    # words the sources write in lower case, and words they never use, stay as typed
    assert casing.recased("müssen wir früh klären?", "de") == "müssen wir früh klären?"
    # a question typed with capitals keeps the user's casing; English is left alone
    assert casing.recased("Wie sichern wir die finanzierung?", "de") == "Wie sichern wir die Finanzierung?"
    assert casing.recased("Wie sichern wir die Finanzierung der app?", "de") == "Wie sichern wir die Finanzierung der app?"
    assert casing.recased("how do we fund the app?", "en") == "how do we fund the app?"


def test_typing_slips_are_repaired_towards_source_words_but_no_word_becomes_another():
    from assistant.frames.spelling import SpellingRepair

    texts = ["Ein Beispiel für die Pilotphase. Kriterien der Pilotphase und ein weiteres Beispiel.", "Die Kriterien gelten weiter; Varianten und Variante."]
    repair = SpellingRepair(texts, min_letters=5, min_letters_indel=8, min_count=2)
    assert repair.repaired("kennst du ein beispeil?", "de") == "kennst du ein beispiel?"  # swapped letters
    assert repair.repaired("Welche Kritrien gelten in der Pillotphase?", "de") == "Welche Kriterien gelten in der Pilotphase?"
    # a changed letter makes another word ("Wetter" is not "weiter"); endings are inflection, not slips
    assert repair.repaired("Wie wird das Wetter?", "de") == "Wie wird das Wetter?"
    assert repair.repaired("Welche Variantenn?", "de") == "Welche Variantenn?"
    # English words next to a German source word are no slips; a swap still is
    assert repair.repaired("Any pilotphasee example?", "en") == "Any pilotphasee example?"
    assert repair.repaired("any beispeil?", "en") == "any beispiel?"


@pytest.mark.parametrize(
    "question",
    ["Worauf beruhen die fünf Phasen eigentlich?", "Wonach richten sich die Skalierungstreiber?",
     "Where does the grouping of the scaling drivers come from?"],
)
def test_what_a_kind_of_entry_is_modelled_on_is_explained_not_listed(parser, question):
    frame = parser.parse(question, None)
    assert frame.operation.value == "explain" and frame.target is not None, frame


def test_asking_for_the_entries_of_a_kind_still_lists_them(parser):
    assert parser.parse("Welche Skalierungstreiber gibt es?", None).operation.value == "list"


@pytest.mark.parametrize("question", ["Gibt es ein vergleichbares Praxisbeispiel für die Verstetigung?", "Is there a comparable example from another city?"])
def test_a_comparable_example_asks_for_an_example_not_a_comparison(parser, question):
    assert parser.parse(question, None).operation.value == "example"
