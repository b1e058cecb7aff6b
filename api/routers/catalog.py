"""`GET /api/catalog`: the published layers as the web map and other clients need them.

Titles, geometry types, fields with their Chinese titles and kind vocabularies (value -> label), and
what each layer offers (OGC collection, heat source, import). The page reads labels from here instead
of keeping its own copy.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from gis import catalog

router = APIRouter(tags=["catalog"])


class CatalogField(BaseModel):
    name: str
    title: str
    type: str
    labels: dict[str, str] | None = None


class CatalogLayer(BaseModel):
    id: str
    title: str
    title_en: str
    description: str
    geometry_type: str
    ogc_collection: bool
    heat_source: bool
    importable: bool
    temporal: str | None
    fields: list[CatalogField]


def _layer(layer: catalog.Layer) -> dict[str, Any]:
    return {
        "id": layer.id, "title": layer.title, "title_en": layer.title_en, "description": layer.description,
        "geometry_type": layer.geometry_type, "ogc_collection": layer.publish, "heat_source": layer.heat is not None,
        "importable": layer.io is not None, "temporal": layer.temporal[0] if layer.temporal else None,
        "fields": [{"name": f.name, "title": f.title, "type": f.json_type,
                    "labels": f.vocab.labels if f.vocab else None} for f in layer.properties],
    }


@router.get("/api/catalog", response_model=list[CatalogLayer], summary="The published layers and their labels")
def list_layers() -> list[dict[str, Any]]:
    return [_layer(layer) for layer in catalog.LAYERS]
