import uuid

import pytest

from realtime_chat.chat.models import Message
from realtime_chat.chat.serializers import MessageSerializer, message_data
from realtime_chat.chat.services.chat import session_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("client_id", [None, uuid.uuid4()])
def test_frame_data_is_the_rest_representation(user, client_id) -> None:
    session = session_create(user=user)
    message = Message.objects.create(
        session=session, role="assistant", content="hi [1]", client_id=client_id, sources=[{"number": 1}]
    )
    message.refresh_from_db()
    assert message_data(message) == dict(MessageSerializer(message).data)
