from rag.retrieval.query import build_retrieval_query, is_follow_up


def test_pronoun_led_follow_up_joins_the_previous_user_turn():
    query = build_retrieval_query("and what are its side effects?", ["Tell me about metformin"])
    assert query == "Tell me about metformin and what are its side effects?"


def test_short_question_joins_the_newest_turn_only():
    history = ["What is aspirin?", "How is ibuprofen dosed for children?"]
    assert build_retrieval_query("for adults?", history) == "How is ibuprofen dosed for children? for adults?"


def test_self_contained_question_is_searched_as_asked():
    question = "Which enzymes does the liver use to metabolise caffeine in adults?"
    assert not is_follow_up(question)
    assert build_retrieval_query(question, ["What is aspirin?"]) == question


def test_without_history_the_query_is_unchanged_but_normalised():
    assert build_retrieval_query("  and   its dose? ", []) == "and its dose?"
    assert build_retrieval_query("its dose?", ["", "   "]) == "its dose?"
