//! `get`: the model endpoints of a namespace or of every namespace, as data and as a table.

use serde::Serialize;

use super::cluster;
use super::kind::ModelKind;
use super::status::ModelStatus;
use super::table::{dash, table};
use crate::error::Result;
use crate::time::human;
use crate::Ctx;

/// The model endpoints found.
#[derive(Debug, Serialize)]
pub(crate) struct Listing {
    /// The namespace listed; None for every namespace.
    #[serde(skip)]
    pub namespace: Option<String>,
    /// Neither kind's CRD is installed (the operator is not set up).
    #[serde(skip)]
    pub no_crds: bool,
    pub items: Vec<ModelStatus>,
}

/// Lists both kinds in `ns` (None: every namespace).
pub(crate) fn list(ctx: &Ctx, ns: Option<&str>) -> Result<Listing> {
    let (items, missing) = cluster::list(ctx, ns)?;
    Ok(Listing {
        namespace: ns.map(str::to_string),
        no_crds: missing.len() == ModelKind::ALL.len(),
        items: items.iter().map(|(k, o)| ModelStatus::of(*k, o)).collect(),
    })
}

impl Listing {
    /// A kubectl-style table, with a NAMESPACE column when every namespace was listed.
    pub(crate) fn text(&self) -> String {
        if self.items.is_empty() {
            return match &self.namespace {
                Some(n) => format!("No model endpoints in namespace {n}.\n"),
                None => "No model endpoints in any namespace.\n".into(),
            };
        }
        let all = self.namespace.is_none();
        let mut headers = vec![
            "NAME",
            "KIND",
            "MODEL",
            "INSTANCE TYPE",
            "STATE",
            "ENDPOINT",
            "AGE",
        ];
        if all {
            headers.insert(0, "NAMESPACE");
        }
        let rows: Vec<Vec<String>> = self
            .items
            .iter()
            .map(|s| {
                let mut r = row(s);
                if all {
                    r.insert(0, s.resource.namespace.clone());
                }
                r
            })
            .collect();
        table(&headers, &rows)
    }
}

fn row(s: &ModelStatus) -> Vec<String> {
    let endpoint = match (&s.endpoint_name, &s.endpoint_state) {
        (None, _) => "-".to_string(),
        (Some(_), Some(st)) => st.clone(),
        (Some(_), None) => "Pending".to_string(),
    };
    let state = if s.deleting {
        s.state.clone().unwrap_or_else(|| "Deleting".into())
    } else {
        s.state.clone().unwrap_or_else(|| "-".into())
    };
    vec![
        s.resource.name.clone(),
        s.resource.kind.kind().to_string(),
        dash(&s.model),
        dash(&s.instance_type),
        state,
        endpoint,
        s.age_seconds.map(human).unwrap_or_else(|| "-".into()),
    ]
}
