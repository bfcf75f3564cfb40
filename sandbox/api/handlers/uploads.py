"""The multipart/form-data operations: uploads are stored and served back at their ``url``.

HighLevel answers an upload with where the file now lives (``url``, ``uploadedFiles``); the
sandbox keeps each file part (up to ``MAX_BYTES``) and serves it at ``/sandbox/files/<id>``, so
a client can check the round trip. An upload without a file part is refused (400 "file should
not be empty"), except ``POST /medias/upload-file`` with ``hosted=true`` and a ``fileUrl``, which
the spec allows instead of a file.
"""

import base64
import hashlib

from django.http import Http404, HttpResponse

from sandbox.api.context import Call, Reply
from sandbox.errors import ApiError
from sandbox.state import store

MAX_BYTES = 5 * 1024 * 1024
KIND = "upload"


def _hosted(call: Call) -> bool:
    return (
        call.op.path == "/medias/upload-file"
        and str(call.body.get("hosted", "")).lower() == "true"
        and bool(call.body.get("fileUrl"))
    )


def _store(call: Call, field: str, upload) -> tuple[str, str]:
    content = upload.read()
    if len(content) > MAX_BYTES:
        raise ApiError(413, f"{upload.name} is larger than {MAX_BYTES} bytes")
    res = store.resource_create(
        kind=KIND,
        location_id=call.location_id,
        data={
            "name": upload.name,
            "field": field,
            "contentType": upload.content_type or "application/octet-stream",
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "content": base64.b64encode(content).decode("ascii"),
        },
    )
    url = call.request.build_absolute_uri(f"/sandbox/files/{res.resource_id}")
    return res.resource_id, url


def upload(call: Call) -> Reply:
    files = [(field, f) for field in call.request.FILES for f in call.request.FILES.getlist(field)]
    if not files and not _hosted(call):
        status = 422 if 422 in call.op.responses else 400
        raise ApiError(status, "file should not be empty")
    stored = [(f.name, *_store(call, field, f)) for field, f in files]
    uploaded = {name: url for name, _, url in stored}
    path = call.op.path
    if path == "/medias/upload-file":
        if not stored:  # hosted: the file stays where it is
            return Reply({"fileId": store.new_id(), "url": call.body["fileUrl"]})
        return Reply({"fileId": stored[0][1], "url": stored[0][2]})
    if path == "/social-media-posting/{locationId}/csv":
        return Reply(
            {
                "success": True,
                "statusCode": 201,
                "message": "Uploaded CSV",
                "results": {"id": stored[0][1], "fileName": stored[0][0], "url": stored[0][2]},
            }
        )
    return Reply({"uploadedFiles": uploaded})


def file_serve(request, file_id: str) -> HttpResponse:
    """``GET /sandbox/files/<id>``: the bytes of an upload, as a storage bucket would serve them."""
    res = store.resource_get(kind=KIND, resource_id=file_id)
    if res is None:
        raise Http404("No such file")
    response = HttpResponse(
        base64.b64decode(res.data["content"]), content_type=res.data["contentType"]
    )
    response["Content-Disposition"] = f'inline; filename="{res.data["name"]}"'
    return response
