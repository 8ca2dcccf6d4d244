"""Support for migrations that move models between apps while their tables stay where they are."""

from collections.abc import Callable, Sequence
from typing import Any


def content_types_move(old_app_label: str, new_app_label: str, models: Sequence[str]) -> Callable[[Any, Any], None]:
    """A RunPython function that relabels the models' content types, so permissions granted on them and admin log
    entries follow the models instead of pointing at a label no app has any more."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        content_types = apps.get_model("contenttypes", "ContentType").objects.using(schema_editor.connection.alias)
        for model in models:
            if not content_types.filter(app_label=new_app_label, model=model).exists():
                content_types.filter(app_label=old_app_label, model=model).update(app_label=new_app_label)

    return forwards
