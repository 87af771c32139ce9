"""``convscope serve``: a trained model on a web page, forward and backward, every number one
click away. Python computes (the engine and ``convscope.explain``), the browser draws.

    from convscope.web.served import ServedModel      # the answers, as plain data (NumPy only)
    from convscope.web.app import create_app          # the Starlette app (page + JSON API)

The page is static files in ``static/`` (HTML, CSS, ES modules; no build step, no CDN). The
JSON API is listed in ``api.ENDPOINTS`` and by ``GET /api``. Starlette and uvicorn are imported
only by ``app`` and ``server``.
"""
