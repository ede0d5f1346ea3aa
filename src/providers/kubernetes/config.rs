//! `[kubernetes]`: the section, its defaults and its checks.

use serde::Deserialize;

use crate::config::line_of_key;

/// ```toml
/// [kubernetes]
/// kubeconfig = "~/.kube/config"    # default: $KUBECONFIG (all its files, merged), else ~/.kube/config
/// contexts = ["aks-prod", "aks-staging"]  # one source each; empty = the current context
/// namespaces = ["shop", "payments"]       # empty = every namespace the credentials may list
/// ```
///
/// Credentials are whatever the kubeconfig says, read by kube's own loader: tokens, client
/// certificates, and exec plugins (`kubelogin`, `aws eks get-token`, `gke-gcloud-auth-plugin`),
/// which it runs and re-runs when their token expires.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct KubernetesConfig {
    pub kubeconfig: Option<String>,
    pub contexts: Vec<String>,
    pub namespaces: Vec<String>,
    /// Log lines read from each pod of a workload for the log viewer (default 500).
    pub tail_lines: Option<i64>,
}

impl KubernetesConfig {
    /// `contexts` trimmed, without blanks or repeats, in order.
    pub fn all_contexts(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in &self.contexts {
            let c = c.trim();
            if !c.is_empty() && !out.iter().any(|known| known == c) {
                out.push(c.to_string());
            }
        }
        out
    }

    /// `namespaces` trimmed, without blanks or repeats; empty = all namespaces.
    pub fn all_namespaces(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for n in &self.namespaces {
            let n = n.trim();
            if !n.is_empty() && !out.iter().any(|known| known == n) {
                out.push(n.to_string());
            }
        }
        out
    }

    /// Checks that point at `file:line` (the line in `text`).
    fn checks(&self, text: &str) -> Result<(), (usize, String)> {
        for n in self.all_namespaces() {
            let ok = n.len() <= 63
                && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !n.starts_with('-')
                && !n.ends_with('-');
            if !ok {
                return Err((
                    line_of_key(text, "namespaces"),
                    format!(
                        "[kubernetes] namespaces: '{n}' is not a namespace name (lower-case letters, digits and '-', at most 63)"
                    ),
                ));
            }
        }
        if let Some(t) = self.tail_lines
            && t < 1
        {
            return Err((line_of_key(text, "tail_lines"), "[kubernetes] tail_lines must be at least 1".into()));
        }
        Ok(())
    }
}

impl crate::config::ConfigSection for KubernetesConfig {
    const KEY: &'static str = "kubernetes";

    fn validate(&self, text: &str) -> Result<(), (usize, String)> {
        self.checks(text)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    #[test]
    fn kubernetes_section_parses_and_its_mistakes_have_their_line() {
        let l = parse(
            "[kubernetes]\nkubeconfig = \"~/k.yaml\"\ncontexts = [\"a\", \" a \", \"b\"]\nnamespaces = [\"shop\"]\n",
            "c.toml",
        )
        .unwrap();
        let k = l.config.section::<crate::providers::kubernetes::config::KubernetesConfig>().unwrap().unwrap();
        assert_eq!(k.all_contexts(), ["a", "b"]);
        assert_eq!(k.all_namespaces(), ["shop"]);
        assert_eq!(k.kubeconfig.as_deref(), Some("~/k.yaml"));
        let err = parse("[kubernetes]\ncontexts = []\nnamespaces = [\"Shop_1\"]\n", "x.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.toml:3: [kubernetes] namespaces: 'Shop_1' is not a namespace name (lower-case letters, digits and '-', at most 63)"
        );
        let l = parse("[kubernetes]\ncontext = \"a\"\n", "x.toml").unwrap();
        assert_eq!(l.warnings, ["x.toml:2: unknown key 'kubernetes.context' ignored"]);
    }
}
