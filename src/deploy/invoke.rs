//! `invoke`: send one request to a model's SageMaker endpoint (`aws sagemaker-runtime
//! invoke-endpoint`), after checking the body and that the endpoint is in service.

use serde::Serialize;
use serde_json::Value;

use super::cluster;
use super::kind::ModelKind;
use super::status::{ModelStatus, ENDPOINT_READY};
use crate::error::{Error, Result};
use crate::exec::private::PrivateDir;
use crate::tools::sagemaker;
use crate::validate;
use crate::Ctx;

/// SageMaker real-time endpoints take at most 6 MB per request.
pub(crate) const MAX_BODY: usize = 6 * 1024 * 1024;

/// One request to a model's endpoint.
#[derive(Debug, Clone)]
pub(crate) struct InvokeRequest {
    pub namespace: String,
    pub name: String,
    /// Which kind, when both kinds may have a resource of that name.
    pub kind: Option<ModelKind>,
    pub body: Vec<u8>,
    /// The flag the body came from, for messages (`--body`, `--body-file`).
    pub body_field: String,
    pub content_type: String,
}

impl InvokeRequest {
    /// The body's size, the content type's form, and JSON bodies being JSON.
    pub(crate) fn check(&self) -> Result<()> {
        let field = self.body_field.as_str();
        if self.body.len() > MAX_BODY {
            return Err(Error::invalid(
                field,
                "must be at most 6 MB (the SageMaker limit)",
            ));
        }
        let ct = self.content_type.as_str();
        let ct_ok = ct.len() <= 256
            && ct.contains('/')
            && ct.chars().all(|c| c.is_ascii_graphic() || c == ' ');
        if !ct_ok {
            return Err(Error::invalid(
                "--content-type",
                format!(
                    "must be a MIME type such as application/json (got {})",
                    validate::quote(ct)
                ),
            ));
        }
        if ct.starts_with("application/json") {
            if let Err(e) = serde_json::from_slice::<Value>(&self.body) {
                return Err(Error::invalid(
                    field,
                    format!("must be JSON (content type {ct}): {e}"),
                ));
            }
        }
        Ok(())
    }
}

/// What the endpoint answered.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InvokeResult {
    pub name: String,
    pub namespace: String,
    pub endpoint: String,
    pub region: Option<String>,
    pub content_type: Option<String>,
    pub invoked_production_variant: Option<String>,
    /// The response: JSON when it parses as JSON, else its text.
    pub body: Value,
    /// The response as text (what text mode prints).
    #[serde(skip)]
    pub response_text: String,
}

impl InvokeResult {
    /// The response body, ending with a newline.
    pub(crate) fn text(&self) -> String {
        if self.response_text.ends_with('\n') {
            self.response_text.clone()
        } else {
            format!("{}\n", self.response_text)
        }
    }
}

/// The region of an endpoint ARN (`arn:aws:sagemaker:REGION:...`), when it is a valid one.
pub(crate) fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':')
        .nth(3)
        .filter(|r| validate::region("endpointArn", r).is_ok())
}

/// Finds the model's endpoint, checks it is in service, and sends the request (checked with
/// `InvokeRequest::check` first, by the caller).
pub(crate) fn invoke(ctx: &Ctx, req: &InvokeRequest) -> Result<InvokeResult> {
    let (ns, name) = (req.namespace.as_str(), req.name.as_str());
    let (kind, obj) = cluster::find(ctx, ns, name, req.kind)?;
    let s = ModelStatus::of(kind, &obj);
    let what = format!("{} {ns}/{name}", kind.singular());
    let Some(endpoint) = s.endpoint_name.clone() else {
        return Err(Error::failed(
            format!("{what} has no SageMaker endpoint (it was deployed without an endpoint name)"),
            Some("redeploy it with --endpoint-name NAME to invoke it through SageMaker".into()),
        ));
    };
    if s.endpoint_state.as_deref() != Some(ENDPOINT_READY) {
        return Err(Error::failed(
            format!(
                "the SageMaker endpoint {endpoint} of {what} is not InService yet (endpoint state: {}; deployment: {})",
                s.endpoint_state.as_deref().unwrap_or("not created yet"),
                s.state.as_deref().unwrap_or("no status yet")
            ),
            Some(format!(
                "wait for it with `kubectl hyperpod describe {name} -n {ns}`, or redeploy with `kubectl hyperpod deploy` (it waits)"
            )),
        ));
    }
    // The endpoint lives where its ARN says; else the user's region.
    let region = s
        .endpoint_arn
        .as_deref()
        .and_then(arn_region)
        .map(str::to_string)
        .or_else(|| ctx.aws.region.clone());
    let dir = PrivateDir::new("create a private temporary directory for the request")?;
    let body_path = dir.write("body", &req.body, "write the request body")?;
    // The response too may be private: created 0600 before the CLI writes into it.
    let out_path = dir.write("response", b"", "create the response file")?;
    let mut aws = ctx.aws.clone();
    aws.region = region.clone();
    let cmd = sagemaker::invoke_endpoint(&aws, &endpoint, &req.content_type, &body_path, &out_path);
    let out = ctx.runner.run_unchecked(&cmd)?;
    if !out.success() {
        let code = crate::tools::aws::error_code(&out.stderr).unwrap_or("");
        if code == "ValidationException" && out.stderr.contains("not found") {
            return Err(Error::failed(
                format!(
                    "the SageMaker endpoint {endpoint} does not exist in {}",
                    region.as_deref().unwrap_or("the default region")
                ),
                Some("check --region, or `kubectl hyperpod describe` the model".into()),
            ));
        }
        return Err(crate::exec::command_error(&cmd, &out));
    }
    let meta: Value = crate::exec::parse_json(&cmd, &out.stdout)?;
    let raw = std::fs::read(&out_path).map_err(|e| Error::io("read the endpoint's response", e))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let body = serde_json::from_slice::<Value>(&raw).unwrap_or(Value::String(text.clone()));
    Ok(InvokeResult {
        name: name.to_string(),
        namespace: ns.to_string(),
        endpoint,
        region,
        content_type: meta["ContentType"].as_str().map(str::to_string),
        invoked_production_variant: meta["InvokedProductionVariant"]
            .as_str()
            .map(str::to_string),
        body,
        response_text: text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::aws::AwsOpts;
    use std::path::Path;

    fn req(body: &str, ct: &str) -> InvokeRequest {
        InvokeRequest {
            namespace: "default".into(),
            name: "m".into(),
            kind: None,
            body: body.as_bytes().to_vec(),
            body_field: "--body".into(),
            content_type: ct.into(),
        }
    }

    #[test]
    fn body_and_content_type_are_checked() {
        assert!(req(r#"{"q": 1}"#, "application/json").check().is_ok());
        assert!(req("plain", "text/plain").check().is_ok());
        let e = req("{nope", "application/json").check().unwrap_err();
        assert!(
            e.to_string().starts_with("invalid --body: must be JSON"),
            "{e}"
        );
        let e = req("{}", "json").check().unwrap_err();
        assert!(e.to_string().starts_with("invalid --content-type"), "{e}");
        let mut big = req("", "text/plain");
        big.body = vec![b'a'; MAX_BODY + 1];
        big.body_field = "--body-file".into();
        assert_eq!(
            big.check().unwrap_err().to_string(),
            "invalid --body-file: must be at most 6 MB (the SageMaker limit)"
        );
    }

    #[test]
    fn region_from_the_arn_and_the_argv() {
        assert_eq!(
            arn_region("arn:aws:sagemaker:eu-west-1:123456789012:endpoint/e"),
            Some("eu-west-1")
        );
        assert_eq!(arn_region("not-an-arn"), None);
        let aws = AwsOpts {
            region: Some("eu-west-1".into()),
            profile: None,
        };
        let cmd = sagemaker::invoke_endpoint(
            &aws,
            "ep",
            "application/json",
            Path::new("/t/body"),
            Path::new("/t/response"),
        );
        let argv = cmd.display();
        assert!(
            argv.contains("sagemaker-runtime invoke-endpoint --endpoint-name ep --content-type application/json --body fileb:///t/body /t/response"),
            "{argv}"
        );
        assert!(argv.contains("eu-west-1"), "{argv}");
    }

    #[test]
    fn text_ends_with_a_newline() {
        let r = InvokeResult {
            name: "m".into(),
            namespace: "d".into(),
            endpoint: "e".into(),
            region: None,
            content_type: None,
            invoked_production_variant: None,
            body: Value::Null,
            response_text: "{\"a\": 1}".into(),
        };
        assert_eq!(r.text(), "{\"a\": 1}\n");
        assert!(!serde_json::to_string(&r).unwrap().contains("\"text\""));
    }
}
