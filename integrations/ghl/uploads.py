"""A file for a multipart/form-data operation (e.g. ``POST /medias/upload-file``)."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UploadFile:
    """One file part: what the door sends as ``files=`` and the sync log shows by name and size."""

    name: str
    content: bytes
    content_type: str = "application/octet-stream"

    def __repr__(self) -> str:
        return f"<file {self.name} ({len(self.content)} bytes, {self.content_type})>"

    def as_part(self) -> tuple[str, bytes, str]:
        return (self.name, self.content, self.content_type)


def files_parts(
    files: dict[str, UploadFile] | None,
) -> list[tuple[str, tuple[str, bytes, str]]] | None:
    """``requests``' ``files=`` list for ``files`` (None when there are none)."""
    if not files:
        return None
    return [(field, upload.as_part()) for field, upload in files.items()]


def files_summary(files: dict[str, UploadFile] | None) -> dict[str, str]:
    return {field: repr(upload) for field, upload in (files or {}).items()}


def uploads_described(value: Any) -> Any:
    """``value`` with each file replaced by its description (name, size, type): what a job's stored
    input keeps of an upload (JSON, and never the file's bytes)."""
    if isinstance(value, UploadFile):
        return repr(value)
    if isinstance(value, dict):
        return {key: uploads_described(item) for key, item in value.items()}
    if isinstance(value, list):
        return [uploads_described(item) for item in value]
    return value
