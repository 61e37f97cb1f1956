"""SageMaker JumpStart hubs for the AWS emulator: `DescribeHubContent`, which moto 5.2.5 lacks.

Real shape (botocore's sagemaker model; `hyp` reads it the same way): `HubContentDocument` is a
JSON *string* whose `SupportedInferenceInstanceTypes` lists the instance types the model can be
hosted on (`DefaultInferenceInstanceType` is one of them). An unknown hub or content answers
`ResourceNotFound` (SageMaker's code, without "Exception"), HTTP 400.

The public hub `SageMakerPublicHub` holds the models the tests, README and docs use. Their
instance-type lists are modelling choices in the spirit of the real ones (BERT: CPU and single
GPU types, not multi-GPU ones; the LLMs: GPU types only), so that on the `fresh` profile
(ml.g5.8xlarge, ml.c5.2xlarge) BERT fits both groups and an LLM refuses ml.c5.2xlarge. Private hubs and
their contents are added with the `PUT /_hp/hubs/<hub>/<content>` hook (hub_put below).
"""

from __future__ import annotations

import json
import threading
import time

PUBLIC_HUB = "SageMakerPublicHub"

_BERT = ["ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.c5.xlarge", "ml.c5.2xlarge",
         "ml.g4dn.xlarge", "ml.g5.xlarge", "ml.g5.2xlarge", "ml.g5.4xlarge", "ml.g5.8xlarge",
         "ml.p3.2xlarge"]
_LLM_8B = ["ml.g5.2xlarge", "ml.g5.4xlarge", "ml.g5.8xlarge", "ml.g5.12xlarge", "ml.g5.16xlarge",
           "ml.g5.24xlarge", "ml.g5.48xlarge", "ml.g6.12xlarge", "ml.p4d.24xlarge", "ml.p5.48xlarge"]

# model id -> (display name, task, default type, supported types, gated)
PUBLIC_MODELS = {
    "huggingface-eqa-bert-base-cased": ("BERT Base Cased", "eqa", "ml.m5.xlarge", _BERT, False),
    "huggingface-eqa-bert-base-uncased": ("BERT Base Uncased", "eqa", "ml.m5.xlarge", _BERT, False),
    "meta-textgeneration-llama-3-8b": ("Meta Llama 3 8B", "textgeneration", "ml.g5.12xlarge", _LLM_8B, True),
    "meta-textgeneration-llama-3-8b-instruct": ("Meta Llama 3 8B Instruct", "textgeneration", "ml.g5.12xlarge", _LLM_8B, True),
    "huggingface-llm-mistral-7b": ("Mistral 7B", "llm", "ml.g5.2xlarge", _LLM_8B, False),
    "deepseek-llm-r1-distill-qwen-1-5b": ("DeepSeek-R1-Distill-Qwen-1.5B", "llm", "ml.g5.xlarge",
                                          ["ml.g5.xlarge", "ml.g5.2xlarge", "ml.g5.4xlarge", "ml.g5.8xlarge",
                                           "ml.g5.12xlarge", "ml.g6.xlarge", "ml.p4d.24xlarge"], False),
}

_LOCK = threading.Lock()
# (region, hub) -> {content name -> supported types}; the public hub is in every region.
PRIVATE: dict[tuple[str, str], dict[str, list[str]]] = {}


class HubError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def body(self) -> dict:
        return {"__type": self.code, "message": self.message}


def _document(model_id: str, task: str, default: str, types: list[str], gated: bool) -> str:
    doc = {
        "Url": f"https://huggingface.co/{model_id}",
        "MinSdkVersion": "2.189.0",
        "HostingEcrUri": "763104351884.dkr.ecr.us-west-2.amazonaws.com/huggingface-pytorch-inference:1.13.1-transformers4.26.0-cpu-py39-ubuntu20.04",
        "HostingArtifactUri": f"s3://jumpstart-cache-prod-us-west-2/{task}/{model_id}/artifacts/inference/v1.0.0/",
        "InferenceEnvironmentVariables": [
            {"Name": "SAGEMAKER_PROGRAM", "Type": "text", "Default": "inference.py", "Scope": "container",
             "RequiredForModelClass": True},
        ],
        "DefaultInferenceInstanceType": default,
        "SupportedInferenceInstanceTypes": list(types),
        "TrainingSupported": False,
        "Task": task,
        "Framework": "huggingface",
    }
    if gated:
        doc["HostingEulaUri"] = f"s3://jumpstart-cache-prod-us-west-2/fmhMetadata/eula/{model_id}.txt"
    return json.dumps(doc)


def hub_put(region: str, hub: str, content: str, types: list[str]) -> dict:
    """Adds (or replaces) a model in a private hub of `region`."""
    if hub == PUBLIC_HUB:
        raise ValueError("the public hub is read-only")
    with _LOCK:
        PRIVATE.setdefault((region, hub), {})[content] = list(types)
    return {"hub": hub, "content": content, "supportedInferenceInstanceTypes": types}


def reset() -> None:
    with _LOCK:
        PRIVATE.clear()


def describe_hub_content(params: dict, account: str, region: str) -> dict:
    hub = params.get("HubName") or ""
    ctype = params.get("HubContentType") or ""
    name = params.get("HubContentName") or ""
    if ctype not in ("Model", "Notebook", "ModelReference"):
        raise HubError(
            "ValidationException",
            f"1 validation error detected: Value '{ctype}' at 'hubContentType' failed to satisfy constraint: "
            "Member must satisfy enum value set: [Model, Notebook, ModelReference]",
        )
    if hub == PUBLIC_HUB:
        found = PUBLIC_MODELS.get(name) if ctype == "Model" else None
        if found is None:
            raise HubError("ResourceNotFound", f"Hub content {name} of type {ctype} not found in hub {hub}.")
        display, task, default, types, gated = found
        owner = "aws"
    else:
        with _LOCK:
            contents = PRIVATE.get((region, hub))
            types = (contents or {}).get(name)
        if contents is None:
            raise HubError("ResourceNotFound", f"Hub {hub} does not exist.")
        if types is None or ctype not in ("Model", "ModelReference"):
            raise HubError("ResourceNotFound", f"Hub content {name} of type {ctype} not found in hub {hub}.")
        display, task, default, gated, owner = name, "llm", types[0] if types else "", False, account
    hub_arn = f"arn:aws:sagemaker:{region}:{owner}:hub/{hub}"
    return {
        "HubContentName": name,
        "HubContentArn": f"arn:aws:sagemaker:{region}:{owner}:hub-content/{hub}/{ctype}/{name}/2.1.0",
        "HubContentVersion": "2.1.0",
        "HubContentType": ctype,
        "DocumentSchemaVersion": "2.0.0",
        "HubName": hub,
        "HubArn": hub_arn,
        "HubContentDisplayName": display,
        "HubContentDescription": f"{display} from SageMaker JumpStart",
        "HubContentDocument": _document(name, task, default, types, gated),
        "HubContentSearchKeywords": [f"@task:{task}"],
        "HubContentStatus": "Available",
        "SupportStatus": "Supported",
        "CreationTime": time.time(),
    }
