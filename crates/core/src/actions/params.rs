//! The inputs of `skydeck act`: each provider says which `--param` keys it reads for a verb, and
//! anything else is refused before planning, with the list of what would be understood. A key
//! that nothing reads would otherwise be dropped without a word (`--param environment=production`
//! on a dispatch used to deploy the workflow's default environment).

use super::{ActionError, ActionRequest, InputSpec, Verb};

/// In an accepted list: the verb takes workflow inputs, `--param input.NAME=V` (or `NAME=V`).
pub const WORKFLOW_INPUTS: &str = "input.*";

/// Keys the `act` flags set; they are named by their flag in messages.
const FLAGS: &[(&str, &str)] = &[
    ("count", "--count"),
    ("time", "--time"),
    ("to", "--to"),
    ("name", "--name"),
    ("ref", "--ref"),
    ("failed", "--failed"),
    ("for", "--for"),
];

fn spelled(key: &str) -> String {
    match FLAGS.iter().find(|(k, _)| *k == key) {
        Some((_, flag)) => format!("{flag} (--param {key}=…)"),
        None => format!("--param {key}=…"),
    }
}

/// What a verb takes, for messages and `--help`: `--to (--param to=…), --param force=…`.
pub fn accepted_params_text(accepted: &[&str], inputs: &[InputSpec]) -> String {
    let mut out: Vec<String> = accepted.iter().filter(|k| **k != WORKFLOW_INPUTS).map(|k| spelled(k)).collect();
    if accepted.contains(&WORKFLOW_INPUTS) {
        if inputs.is_empty() {
            out.push("--param input.NAME=… (the workflow's inputs)".into());
        } else {
            out.extend(inputs.iter().map(|i| format!("--param {0}=… (or input.{0})", i.name)));
        }
    }
    if out.is_empty() { "nothing".into() } else { out.join(", ") }
}

/// Checks a request's params against what its provider reads for the verb (`accepted`), before
/// anything is planned. Workflow inputs (`inputs`, when the verb takes them) may be given bare
/// (`environment=production`) or prefixed (`input.environment=production`); bare ones are
/// rewritten to the prefixed form providers read. When the provider could not list the inputs,
/// prefixed ones pass as given. `value_from_stdin` is the `--value-stdin` flag, checked by the CLI.
pub fn check_params(
    request: &mut ActionRequest,
    accepted: &[&str],
    inputs: &[InputSpec],
    source: &str,
) -> Result<(), ActionError> {
    let takes_inputs = accepted.contains(&WORKFLOW_INPUTS);
    let mut unknown = Vec::new();
    let keys: Vec<String> = request.params.keys().cloned().collect();
    for key in keys {
        if key == "value_from_stdin" || accepted.contains(&key.as_str()) {
            continue;
        }
        let name = key.strip_prefix("input.").unwrap_or(&key).to_string();
        let declared = inputs.iter().any(|i| i.name == name);
        match (takes_inputs, declared, key.starts_with("input.")) {
            (true, true, true) => {}
            (true, true, false) => {
                let prefixed = format!("input.{name}");
                if request.params.contains_key(&prefixed) {
                    return Err(ActionError::InvalidInput(format!(
                        "the input '{name}' is given twice (as {name} and as {prefixed})"
                    )));
                }
                if let Some(value) = request.params.remove(&key) {
                    request.params.insert(prefixed, value);
                }
            }
            (true, false, true) if inputs.is_empty() => {}
            _ => unknown.push(key),
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    let verb: Verb = request.verb;
    Err(ActionError::InvalidInput(format!(
        "{verb} on {source} does not take {}; it takes: {}",
        unknown.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", "),
        accepted_params_text(accepted, inputs)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> InputSpec {
        InputSpec {
            name: name.into(),
            description: String::new(),
            required: false,
            default: None,
            options: Vec::new(),
            kind: "string".into(),
        }
    }

    fn request(verb: Verb, params: &[(&str, &str)]) -> ActionRequest {
        let mut r = ActionRequest::new(verb, "t");
        r.params = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        r
    }

    #[test]
    fn bare_and_prefixed_inputs_both_reach_the_workflow() {
        let inputs = [spec("environment"), spec("version")];
        let mut r =
            request(Verb::Dispatch, &[("environment", "production"), ("input.version", "1.2"), ("ref", "main")]);
        check_params(&mut r, &["ref", WORKFLOW_INPUTS], &inputs, "github").unwrap();
        let keys: Vec<_> = r.params.keys().map(String::as_str).collect();
        assert_eq!(keys, ["input.environment", "input.version", "ref"]);
        let mut twice = request(Verb::Dispatch, &[("environment", "a"), ("input.environment", "b")]);
        assert!(check_params(&mut twice, &[WORKFLOW_INPUTS], &inputs, "github").is_err());
    }

    #[test]
    fn unknown_keys_are_refused_with_what_the_verb_takes() {
        let mut r = request(Verb::Promote, &[("forse", "true"), ("to", "v2")]);
        let err = check_params(&mut r, &["to", "force"], &[], "aws").unwrap_err().to_string();
        assert!(err.contains("promote on aws does not take 'forse'"), "{err}");
        assert!(err.contains("--to (--param to=…), --param force=…"), "{err}");
        let mut r = request(Verb::Dispatch, &[("enviroment", "production")]);
        let err = check_params(&mut r, &["ref", WORKFLOW_INPUTS], &[spec("environment")], "demo").unwrap_err();
        assert!(err.to_string().contains("--param environment=… (or input.environment)"), "{err}");
        let mut r = request(Verb::Snapshot, &[("x", "1")]);
        assert!(check_params(&mut r, &[], &[], "gcp").unwrap_err().to_string().ends_with("it takes: nothing"));
        // Inputs the provider could not list pass when prefixed, never bare.
        let mut r = request(Verb::Dispatch, &[("input.anything", "1")]);
        check_params(&mut r, &[WORKFLOW_INPUTS], &[], "github").unwrap();
        let mut r = request(Verb::Dispatch, &[("anything", "1")]);
        assert!(check_params(&mut r, &[WORKFLOW_INPUTS], &[], "github").is_err());
    }
}
