"""Router placeholder: filled in by the capability that owns it."""

from fastapi import APIRouter

router = APIRouter()
