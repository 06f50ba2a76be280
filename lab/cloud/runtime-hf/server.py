"""Routes and error bodies of the lab's Hugging Face-like runtime, as KServe's model server has
them (python/kserve/kserve/protocol/rest/server.py, v1_endpoints.py, v2_endpoints.py,
openai/endpoints.py, errors.py):

  GET  /                          {"status": "alive"}
  GET  /v1/models                 {"models": [name]}
  GET  /v1/models/{m}             {"name": m, "ready": true}
  GET  /v2/health/live            {"live": true}
  GET  /v2/health/ready           {"ready": true}
  GET  /v2/models                 {"models": [name]}
  GET  /v2/models/{m}/ready       {"name": m, "ready": true}
  GET  /openai/v1/models          {"object": "list", "data": [model card]}
  GET  /openai/v1/models/{m}      null (health)
  POST /openai/v1/completions     a Completion (protocol.completion_body)

Errors: an unknown model is 404 {"error": "Model with name X does not exist."} (ModelNotFound);
an OpenAIError is 500 {"error": {code, message, param, type}}; any other exception is 500
{"error": "<Type> : <message>"} (generic_exception_handler); a body that fails validation is
FastAPI's 422 {"detail": [...]} (KServe registers no handler for it).
"""
import asyncio
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from model import GenerativeModel, OpenAIError
from protocol import CompletionRequest, completion_body, model_card, openai_error


class ModelNotFound(Exception):
    def __init__(self, name):
        super().__init__(f"Model with name {name} does not exist.")


def create_app(model: GenerativeModel) -> FastAPI:
    app = FastAPI()
    started = int(time.time())

    def known(name):
        if name != model.name:
            raise ModelNotFound(name)
        return {"name": name, "ready": model.ready}

    @app.get("/")
    async def live():
        return {"status": "alive"}

    @app.get("/v1/models")
    @app.get("/v2/models")
    async def models():
        return {"models": [model.name]}

    @app.get("/v1/models/{name}")
    @app.get("/v2/models/{name}/ready")
    async def model_ready(name: str):
        return known(name)

    @app.get("/v2/health/live")
    async def v2_live():
        return {"live": True}

    @app.get("/v2/health/ready")
    async def v2_ready():
        return {"ready": True}

    @app.get("/openai/v1/models")
    async def openai_models():
        return {"object": "list", "data": [model_card(model.name, started)]}

    @app.get("/openai/v1/models/{name}")
    async def openai_model_health(name: str):
        known(name)
        return None

    @app.post("/openai/v1/completions")
    async def completions(body: CompletionRequest):
        known(body.model)
        out = await model.complete(body, asyncio.get_running_loop())
        return completion_body(body.model, out["texts"], out["finish_reason"], out["prompt_tokens"],
                               out["completion_tokens"])

    @app.exception_handler(ModelNotFound)
    async def not_found(_: Request, exc: ModelNotFound):
        return JSONResponse(status_code=404, content={"error": str(exc)})

    @app.exception_handler(OpenAIError)
    async def openai_failed(_: Request, exc: OpenAIError):
        return JSONResponse(status_code=500, content=openai_error(str(exc), 500))

    @app.exception_handler(Exception)
    async def failed(_: Request, exc: Exception):
        return JSONResponse(status_code=500, content={"error": f"{type(exc).__name__} : {exc}"})

    return app
