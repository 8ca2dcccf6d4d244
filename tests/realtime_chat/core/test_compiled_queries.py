import pytest

from realtime_chat.chat.models import ChatSession, Message, UserPreferences
from realtime_chat.core.compiled_queries import CompiledQuery
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class Counted:
    """A builder that counts how often it was asked to build."""

    def __init__(self, build):
        self.build, self.calls = build, 0

    def __call__(self, **values):
        self.calls += 1
        return self.build(**values)


def _session_with_messages(owner, *contents):
    session = ChatSession.objects.create(owner=owner)
    for content in contents:
        Message.objects.create(session=session, role=Message.Role.USER, content=content, author=owner)
    return session


def test_rows_are_the_orms_for_each_calls_values_and_the_query_is_built_once(django_assert_num_queries):
    alice, bob = UserFactory(), UserFactory()
    sessions = [_session_with_messages(alice, "a1", "a2", "a3"), _session_with_messages(bob, "b1")]
    build = Counted(
        lambda session_id, before_id: (
            Message.objects.filter(session_id=session_id, id__lt=before_id)
            .exclude(content="a2")
            .order_by("-id")
            .values_list("content", "author__username")
        )
    )
    compiled = CompiledQuery(build)
    for session in sessions:
        for before_id in (0, *session.messages.values_list("pk", flat=True), 10**9):
            with django_assert_num_queries(1):
                rows = compiled.rows(session_id=session.pk, before_id=before_id)
            assert [tuple(row) for row in rows] == list(build.build(session_id=session.pk, before_id=before_id))
    assert build.calls == 1


def test_first_and_exists_follow_the_values():
    alice, bob = UserFactory(), UserFactory()
    _session_with_messages(alice, "hello")
    build = Counted(lambda user_id: Message.objects.filter(author_id=user_id).values_list("content"))
    compiled = CompiledQuery(build)

    assert compiled.first(user_id=alice.pk)[0] == "hello"
    assert compiled.first(user_id=bob.pk) is None
    assert compiled.exists(user_id=alice.pk) is True
    assert compiled.exists(user_id=bob.pk) is False
    assert build.calls == 2  # one form for rows, one for exists


def test_instances_are_model_instances_with_the_orms_conversions():
    alice, bob = UserFactory(), UserFactory()
    UserPreferences.objects.create(user=alice, use_rag=False, temperature=0.25)
    compiled = CompiledQuery(lambda user_id: UserPreferences.objects.filter(user_id=user_id))

    (preferences,) = compiled.instances(user_id=alice.pk)

    assert (preferences.use_rag, preferences.temperature, preferences.user_id) == (False, 0.25, alice.pk)
    assert preferences.use_rag is False  # SQLite stores 0: the field's converter ran
    assert list(compiled.instances(user_id=bob.pk)) == []
    preferences.use_rag = True
    preferences.save()  # a saved row as the ORM knows it: an UPDATE, not a second row
    assert UserPreferences.objects.get(user=alice).use_rag is True


def test_a_value_that_is_not_one_of_the_querys_parameters_is_refused_when_compiled():
    """Run with a stale value in its place, the query would answer for someone else: it is not run at all."""
    compiled = CompiledQuery(lambda user_id, session_id: Message.objects.filter(session_id=session_id))

    with pytest.raises(ValueError, match="user_id did not reach the query as a parameter"):
        compiled.rows(user_id=1, session_id=2)


def test_a_call_must_give_exactly_the_values_the_query_was_compiled_with():
    """A value left out would run as its stand-in, and one added would be ignored: both are refused."""
    compiled = CompiledQuery(lambda session_id: Message.objects.filter(session_id=session_id))
    assert compiled.rows(session_id=1) == []

    with pytest.raises(TypeError, match="expected values for session_id, got session_id, user_id"):
        compiled.rows(session_id=1, user_id=2)
    with pytest.raises(TypeError, match=r"expected values for session_id, got $"):
        compiled.rows()
