"""The HTTP side of ``convscope serve`` (Starlette): the page, its assets and the JSON API.

Safety by construction: the assets are a fixed set of names read from the package at start
(no request maps to a path on disk); request bodies are read into memory with a size limit
(no spooling to temporary files); the Host header must name the address served (DNS
rebinding); no CORS headers are sent, and the JSON endpoints take only
``Content-Type: application/json``, which a page elsewhere cannot send without a CORS
preflight that this server never grants. Model calls run one at a time, off the event loop.
"""

import json
import threading

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import Response
from starlette.routing import Route

from ..errors import ConvscopeError
from . import api, assets
from .jsonify import dumps
from .requests import MAX_BYTES, MAX_JSON_BYTES, NotAnImage, RequestError, TooLarge, Upload

IMAGE_TYPES = ("image/", "application/octet-stream")


def create_app(served, allowed_hosts=("127.0.0.1", "localhost")):
    """The ASGI app serving ``served`` (a ServedModel) to requests whose Host is allowed."""
    files = assets.load()
    lock = threading.Lock()

    def locked(fn, *args):
        with lock:
            return fn(*args)

    async def compute(fn, *args):
        return await run_in_threadpool(locked, fn, *args)

    async def page(request):
        return _asset(files, "index.html")

    async def static(request):
        return _asset(files, request.path_params["name"])

    async def get(request):
        name = request.path_params.get("name", "")
        handler = api.GETS[request.url.path.removeprefix("/api/").split("/")[0] or "index"]
        return _json(await compute(handler, served, dict(request.query_params), name))

    async def post(request):
        handler = api.POSTS[request.url.path.removeprefix("/api/")]
        body = await _body(request, handler.accepts_images)
        result = await compute(handler, served, body)
        if isinstance(result, api.Download):
            headers = {"Content-Disposition": f'attachment; filename="{result.filename}"'}
            return Response(result.content, media_type=result.media_type, headers=headers)
        return _json(result)

    routes = [
        Route("/", page),
        Route("/static/{name:str}", static),
        Route("/api", get),
        *(Route(f"/api/{name}", get) for name in api.GETS if name != "index"),
        Route("/api/digits/{name:str}", get),
        *(Route(f"/api/{name}", post, methods=["POST"]) for name in api.POSTS),
    ]
    handlers = {HTTPException: _http_error, ConvscopeError: _refused, Exception: _failed}
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))]
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)


async def _body(request, images):
    """The decoded body: the value of the JSON, or an ``Upload`` (bytes) for a picture."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_image = images and kind.startswith(IMAGE_TYPES)
    if not is_image and kind != "application/json":
        accepted = "application/json" + (
            " or an image type (image/png, image/jpeg)" if images else ""
        )
        raise NotAnImage(
            f"{request.url.path} takes Content-Type {accepted}, got {kind or 'none'}; send a JSON"
            f' object such as {{"pixels": [[...]]}}'
        )
    limit = MAX_BYTES if is_image else MAX_JSON_BYTES
    data = await _read(request, limit)
    if is_image:
        return Upload(data)
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(
            f"the request body is not valid JSON ({exc}); send an object such as"
            f' {{"pixels": [[0, 0, ...], ...], "target": 7}}'
        ) from None


async def _read(request, limit):
    """At most ``limit`` bytes of the body, in memory; TooLarge as soon as it is exceeded."""
    what = "pictures" if limit == MAX_BYTES else "JSON requests"
    size = request.headers.get("content-length", "")
    too_large = f"are limited to {limit // 2**20} MB ({limit:,} bytes)"
    if size.isdigit() and int(size) > limit:
        raise TooLarge(f"the request body is {int(size):,} bytes; {what} {too_large}")
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise TooLarge(f"the request body is over {limit:,} bytes; {what} {too_large}")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(obj, status=200):
    return Response(dumps(obj), status_code=status, media_type="application/json")


def _error(message, status):
    return _json({"error": message}, status)


async def _refused(request, exc):
    return _error(str(exc), getattr(exc, "status", 400))


async def _http_error(request, exc):
    if exc.status_code == 404:
        return _error(
            f"no such page: {request.url.path}; the page is / and the API is under /api", 404
        )
    if exc.status_code == 405:
        return _error(f"{request.method} is not accepted by {request.url.path}; see GET /api", 405)
    return _error(str(exc.detail), exc.status_code)


async def _failed(request, exc):
    message = f"the server failed on this request ({type(exc).__name__}: {exc}); please report it"
    return _error(message, 500)


def _asset(files, name):
    if name not in files:
        raise HTTPException(404)
    content, media_type = files[name]
    return Response(content, media_type=media_type, headers=assets.HEADERS)
