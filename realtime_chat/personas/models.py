"""Personas: who the assistant is in a session. Every setting left empty falls back to the user's preferences."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Persona(models.Model):
    """A user's own persona, or a shared one (`shared`, published by staff) that every user may pick."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personas")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    system_prompt = models.TextField(max_length=4000, blank=True)
    model = models.CharField(max_length=200, blank=True)  # empty: the user's model (or the server's default)
    temperature = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(2.0)])
    top_p = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    max_tokens = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(8192)]
    )
    use_rag = models.BooleanField(null=True, blank=True)
    rag_top_k = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "name"], name="persona_owner_name")]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="persona_owner_name_unique")]

    def __str__(self) -> str:
        return self.name
