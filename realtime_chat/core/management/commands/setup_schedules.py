from django.core.management.base import BaseCommand

from realtime_chat.core.schedules import schedules_ensure


class Command(BaseCommand):
    help = "Create the periodic background jobs (safe to run any number of times)."

    def handle(self, *args: object, **options: object) -> None:
        for name, created in schedules_ensure():
            self.stdout.write(f"{'created' if created else 'exists '}  {name}")
