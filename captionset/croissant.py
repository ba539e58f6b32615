"""croissant.json: the MLCommons Croissant 1.1 description of a built dataset, for copies off the Hub.

The Hugging Face Hub derives Croissant metadata by itself for hosted datasets; a folder shared another way
(Zenodo, a lab server, a tarball) carries its own. One ``FileSet`` per table and one ``RecordSet`` per table
whose fields read the Parquet columns (``split`` is a column of every table). Built from the manifest
and the explicit schemas only, so the same build gives the same bytes (no dates, no hosts).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from .schema import DESCRIPTIONS, TABLES
from .splits import SPLIT_NAMES

#: The JSON-LD context of Croissant 1.1 (``mlcroissant``'s own, so validators find it standard).
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}


def _data_type(arrow_type: pa.DataType) -> str:
    """The schema.org type of a scalar Arrow type."""
    if pa.types.is_integer(arrow_type):
        return "sc:Integer"
    if pa.types.is_floating(arrow_type):
        return "sc:Float"
    if pa.types.is_boolean(arrow_type):
        return "sc:Boolean"
    if pa.types.is_timestamp(arrow_type):
        return "sc:Date"
    return "sc:Text"


def _field(table: str, field: pa.Field, file_set: str) -> dict[str, Any]:
    """A Croissant field reading one Parquet column (a list column is a repeated field of its items)."""
    arrow_type = field.type
    entry: dict[str, Any] = {
        "@type": "cr:Field",
        "@id": f"{table}/{field.name}",
        "name": field.name,
        "description": DESCRIPTIONS.get(table, {}).get(field.name, ""),
    }
    if pa.types.is_list(arrow_type):
        entry["repeated"] = True
        arrow_type = arrow_type.value_type
    source = {"fileSet": {"@id": file_set}, "extract": {"column": field.name}}
    if pa.types.is_struct(arrow_type):
        entry["subField"] = [
            {
                "@type": "cr:Field",
                "@id": f"{table}/{field.name}/{child.name}",
                "name": child.name,
                "dataType": _data_type(child.type),
                "source": {**source, "transform": {"jsonPath": child.name}},
            }
            for child in arrow_type
        ]
    else:
        entry["dataType"] = _data_type(arrow_type)
        entry["source"] = source
    return entry


def render_croissant(manifest: dict[str, Any], *, name: str = "captionset") -> dict[str, Any]:
    """croissant.json for a built dataset, as a dict: a FileSet and a RecordSet per table with rows."""
    files = manifest["files"]
    version = manifest["captionset_version"]
    distribution, record_sets = [], []
    for table, schema in TABLES.items():
        if not any(files.get(table, {}).get(s, {}).get("num_examples") for s in SPLIT_NAMES):
            continue
        file_set = f"{table}-parquet"
        distribution.append(
            {
                "@type": "cr:FileSet",
                "@id": file_set,
                "name": file_set,
                "description": f"The {table} table, one Parquet file per split shard.",
                "encodingFormat": "application/x-parquet",
                "includes": f"{table}/*.parquet",
            }
        )
        fields = [_field(table, field, file_set) for field in schema]
        record_sets.append(
            {
                "@type": "cr:RecordSet",
                "@id": table,
                "name": table,
                "description": f"One record per row of the {table} table.",
                "field": fields,
            }
        )
    counts = manifest.get("counts", {})
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.1",
        "name": name,
        "description": (
            f"Media captions of news articles with their context, built by captionset {version}: "
            f"{counts.get('articles', 0)} articles, {counts.get('captions', 0)} captions."
        ),
        "version": version,
        # The rows are text of the source articles: their publishers' terms apply (the card says "other").
        "license": "other",
        "citeAs": (
            "@misc{captionset_dataset, title={A media-caption dataset built with captionset "
            + version
            + "}, "
            "note={Captions, context and labelled blocks of news articles}}"
        ),
        "distribution": distribution,
        "recordSet": record_sets,
    }
