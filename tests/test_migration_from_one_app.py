"""A database created by the release before the apps were split migrates to today's layout with nothing lost.

The old release is the commit below, taken from this repository's history: its own `manage.py migrate` creates
the database and its own models fill it (users, a permission, sessions, messages, preferences, documents, chunks,
refresh tokens); then today's `migrate` runs on it and today's models read everything back, and write again.
The database is the suite's kind: a SQLite file in the embedded pass, a fresh PostgreSQL database in the other.
"""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
# "RAG selectors: ...", the last commit with everything in the `realtime_chat` app.
ONE_APP_RELEASE = "d22e142c26a112e50b77b1583792a43fa7297b4a"

SEED = """
import json
from django.contrib.auth.models import Permission
from rest_framework_simplejwt.tokens import RefreshToken
from rag.models import Chunk, Document
from realtime_chat.models import ChatSession, Message, User, UserPreferences

alice = User.objects.create_user("alice", "alice@example.com", "correct horse battery")
alice.user_permissions.add(Permission.objects.get(codename="view_chatsession"))
UserPreferences.objects.create(user=alice, model="smollm2:135m", temperature=0.3, use_rag=False)
session = ChatSession.objects.create(owner=alice, title="Lighthouses")
question = Message.objects.create(session=session, role="user", content="When was it built?",
    client_id="6f1c2c9e-4d7a-4f61-9c43-9b1e0b7f0a11")
answer = Message.objects.create(session=session, role="assistant", content="In 1873 [1].", model="smollm2:135m",
    provider="ollama", sources=[{"number": 1, "document_id": 0}], completion_tokens=7)
document = Document.objects.create(owner=alice, title="Quenby", file="documents/quenby.txt", kind="txt",
    size_bytes=42, sha256="a" * 64, status="ready", chunk_count=1)
Chunk.objects.create(document=document, position=0, text="Founded in 1873.", token_count=5,
    embedding_model="all-MiniLM-L6-v2-int8", text_hash="b" * 64, vector=b"\\x00\\x01")
refresh = RefreshToken.for_user(alice)
print(json.dumps({"user": alice.pk, "session": session.pk, "messages": [question.pk, answer.pk],
    "document": document.pk, "jti": refresh["jti"]}))
"""

READ_BACK = """
import json
from django.contrib.auth import authenticate
from django.contrib.contenttypes.models import ContentType
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rag.models import Chunk, Document
from realtime_chat.accounts.models import User
from realtime_chat.chat.models import ChatSession, Message, UserPreferences

alice = User.objects.get(username="alice")
session = ChatSession.objects.get(owner=alice)
messages = list(session.messages.order_by("id"))
document = Document.objects.get(owner=alice)
later = Message.objects.create(session=session, role="user", content="And after the storm?")
bob = User.objects.create_user("bob", "bob@example.com", "another long password")
print(json.dumps({
    "user": alice.pk, "login": authenticate(username="alice", password="correct horse battery") == alice,
    "permission": alice.has_perm("chat.view_chatsession"),
    "user_content_type": ContentType.objects.get_for_model(User).app_label,
    "preferences": [alice.preferences.model, alice.preferences.temperature, alice.preferences.use_rag],
    "session": [session.pk, session.title], "messages": [[m.pk, m.role, m.content, str(m.client_id), m.sources]
        for m in messages],
    "document": [document.pk, document.title, document.chunks.get().text, bytes(document.chunks.get().vector).hex()],
    "jti": OutstandingToken.objects.get(user=alice).jti, "new_ids": later.pk > messages[-1].pk and bob.pk > alice.pk,
    "stale_content_types": ContentType.objects.filter(app_label="realtime_chat").count(),
}))
"""


def manage(directory: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603  (our own interpreter and manage.py)
        [sys.executable, "manage.py", *args], cwd=directory, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} in {directory} failed:\n{result.stderr[-4000:]}"
    return result.stdout


@pytest.fixture
def one_app_release(tmp_path: Path) -> Path:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the release before the split is read from the repository's history")
    release = tmp_path / "release"
    release.mkdir()
    git = ["git", "archive", ONE_APP_RELEASE]
    archive = subprocess.run(git, cwd=ROOT, capture_output=True, check=True)  # noqa: S603
    subprocess.run(["tar", "-x", "-C", str(release)], input=archive.stdout, check=True)  # noqa: S603, S607
    return release


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the suite's kind, dropped afterwards."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'upgraded.sqlite3'}"
        return
    import psycopg

    settings_dict = connection.settings_dict
    name = f"upgrade_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(
        host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432, user=settings_dict["USER"],
        password=settings_dict["PASSWORD"] or None, dbname="postgres", autocommit=True,
    )  # fmt: skip
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
        yield (
            f"postgres://{settings_dict['USER']}{password}@{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}"
            f"/{name}"
        )
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.django_db
def test_a_database_of_the_one_app_release_migrates_without_losing_anything(
    one_app_release: Path, database_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "VAR_DIR": str(tmp_path / "var"), "REDIS_URL": ""}
    manage(one_app_release, env, "migrate", "--noinput")
    seeded = json.loads(manage(one_app_release, env, "shell", "-c", SEED).strip().splitlines()[-1])

    manage(ROOT, env, "migrate", "--noinput")
    read = json.loads(manage(ROOT, env, "shell", "-c", READ_BACK).strip().splitlines()[-1])

    assert read["user"] == seeded["user"]
    assert read["login"] and read["permission"]
    assert read["user_content_type"] == "accounts"
    assert read["stale_content_types"] == 0
    assert read["preferences"] == ["smollm2:135m", 0.3, False]
    assert read["session"] == [seeded["session"], "Lighthouses"]
    assert read["messages"] == [
        [seeded["messages"][0], "user", "When was it built?", "6f1c2c9e-4d7a-4f61-9c43-9b1e0b7f0a11", []],
        [seeded["messages"][1], "assistant", "In 1873 [1].", "None", [{"number": 1, "document_id": 0}]],
    ]
    assert read["document"] == [seeded["document"], "Quenby", "Founded in 1873.", "0001"]
    assert read["jti"] == seeded["jti"]
    assert read["new_ids"]
    assert "No planned migration operations" in manage(ROOT, env, "migrate", "--plan")
