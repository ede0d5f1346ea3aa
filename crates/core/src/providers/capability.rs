//! What a provider can do besides reading: one handler per group of verbs, each with
//! `plan`/`execute`/`verify`. A provider declares the handlers it has in
//! [`Source::capabilities`](super::Source::capabilities); "does this provider take verb V" is
//! whether that slot is filled, and the refusal for an empty slot is written once, in
//! [`Capabilities::refusal`].

use super::{BoxFuture, ProviderError};
use crate::actions::{ActionError, ActionRequest, InputSpec, Plan, Target, Verb, not_applicable};
use crate::model::Snapshot;

/// For a provider whose every verb goes through one planner and one execute/verify (the demo
/// sandbox simulates them all alike): implementing this once implements every capability trait,
/// instead of one identical delegating impl per capability. A provider with handlers of its own
/// implements the capability traits directly and not this.
pub trait OneHandler: Send + Sync {
    fn accepted_params(&self, verb: Verb) -> &'static [&'static str];
    fn action_inputs<'a>(&'a self, request: &'a ActionRequest) -> BoxFuture<'a, Result<Vec<InputSpec>, ProviderError>>;
    fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError>;
    fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>>;
    fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>>;
}

macro_rules! capabilities {
    ($($(#[$doc:meta])* $trait_name:ident / $field:ident: [$($verb:ident),+];)+) => {
        $(
            $(#[$doc])*
            pub trait $trait_name: Send + Sync {
                /// The `--param` keys read for `verb` (those the `act` flags set included);
                /// `skydeck act` refuses any other. [`crate::actions::WORKFLOW_INPUTS`] means the
                /// workflow inputs `action_inputs` lists.
                fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
                    &[]
                }

                /// Inputs the action needs before planning (the dispatch form). Most need none.
                fn action_inputs<'a>(
                    &'a self,
                    _request: &'a ActionRequest,
                ) -> BoxFuture<'a, Result<Vec<InputSpec>, ProviderError>> {
                    Box::pin(async { Ok(Vec::new()) })
                }

                /// Resolves the request against the provider's own last snapshot into the exact
                /// calls. `NotFound` when the target is not this provider's.
                fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError>;

                fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>>;

                /// Re-reads the target and says whether the action took effect.
                fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>>;
            }

            impl<T: OneHandler> $trait_name for T {
                fn accepted_params(&self, verb: Verb) -> &'static [&'static str] {
                    OneHandler::accepted_params(self, verb)
                }
                fn action_inputs<'a>(
                    &'a self,
                    request: &'a ActionRequest,
                ) -> BoxFuture<'a, Result<Vec<InputSpec>, ProviderError>> {
                    OneHandler::action_inputs(self, request)
                }
                fn plan(&self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
                    OneHandler::plan(self, request, snapshot)
                }
                fn execute<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
                    OneHandler::execute(self, plan)
                }
                fn verify<'a>(&'a self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
                    OneHandler::verify(self, plan)
                }
            }
        )+

        /// The capability handlers a provider has; `None` means it takes none of those verbs.
        #[derive(Clone, Copy, Default)]
        pub struct Capabilities<'a> {
            $(pub $field: Option<&'a dyn $trait_name>,)+
            /// Why a verb the provider has no handler for does not fit it, where there is more to
            /// say than "offers no" (Cloud Run scales itself).
            pub refusals: &'a [(Verb, &'a str)],
        }

        /// The handler a verb goes to, whatever its capability.
        #[derive(Clone, Copy)]
        pub enum Handler<'a> {
            $($trait_name(&'a dyn $trait_name),)+
        }

        impl Capabilities<'_> {
            /// Nothing but reading.
            pub const NONE: Capabilities<'static> = Capabilities { $($field: None,)+ refusals: &[] };
        }

        impl<'a> Capabilities<'a> {
            /// The handler for `verb`, if the provider has that capability.
            pub fn handler(&self, verb: Verb) -> Option<Handler<'a>> {
                match verb {
                    $($(Verb::$verb)|+ => self.$field.map(Handler::$trait_name),)+
                }
            }
        }

        impl<'a> Handler<'a> {
            pub fn accepted_params(self, verb: Verb) -> &'static [&'static str] {
                match self {
                    $(Handler::$trait_name(h) => h.accepted_params(verb),)+
                }
            }

            pub fn action_inputs(self, request: &'a ActionRequest) -> BoxFuture<'a, Result<Vec<InputSpec>, ProviderError>> {
                match self {
                    $(Handler::$trait_name(h) => h.action_inputs(request),)+
                }
            }

            pub fn plan(self, request: &ActionRequest, snapshot: &Snapshot) -> Result<Plan, ActionError> {
                match self {
                    $(Handler::$trait_name(h) => h.plan(request, snapshot),)+
                }
            }

            pub fn execute(self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
                match self {
                    $(Handler::$trait_name(h) => h.execute(plan),)+
                }
            }

            pub fn verify(self, plan: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
                match self {
                    $(Handler::$trait_name(h) => h.verify(plan),)+
                }
            }
        }
    };
}

capabilities! {
    /// GitHub Actions runs and reviews: approve or reject a pending deployment, re-run, cancel,
    /// dispatch a workflow again.
    RunControl / run_control: [Approve, Reject, Rerun, Cancel, Dispatch];
    /// Move what serves traffic forwards or back: a task definition, a Cloud Run revision, an App
    /// Service slot swap, a re-deploy of an earlier commit.
    TrafficShift / traffic_shift: [Promote, Rollback];
    /// Restore a database as it was at a time, into a new server.
    PointInTimeRestore / point_in_time_restore: [Restore];
    /// Take an on-demand backup.
    TakeSnapshot / take_snapshot: [Snapshot];
    /// Store a new version of a secret (or a deploy credential).
    RotateSecret / rotate_secret: [Rotate];
    /// Change how many instances run.
    Scale / scale: [Scale];
    /// Acknowledge an alert, or silence its notifications for a set time, in the cloud's own
    /// alerting.
    AlertControl / alert_control: [Ack, Silence];
}

impl Capabilities<'_> {
    /// The one refusal for a verb the provider has no handler for.
    pub fn refusal(&self, provider: &str, verb: Verb, target: &Target) -> ActionError {
        if let Some((_, why)) = self.refusals.iter().find(|(v, _)| *v == verb) {
            return not_applicable(verb, &target.name, *why);
        }
        let kind = format!("{:?}", target.kind).to_lowercase();
        let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
        not_applicable(verb, &target.name, format!("{provider} offers no '{verb}' for {article} {kind}").to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Restores;
    impl PointInTimeRestore for Restores {
        fn accepted_params(&self, _verb: Verb) -> &'static [&'static str] {
            &["time"]
        }
        fn plan(&self, request: &ActionRequest, _: &Snapshot) -> Result<Plan, ActionError> {
            Err(ActionError::NotFound(request.target.clone()))
        }
        fn execute<'a>(&'a self, _: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
            Box::pin(async { Ok("done".into()) })
        }
        fn verify<'a>(&'a self, _: &'a Plan) -> BoxFuture<'a, Result<String, ActionError>> {
            Box::pin(async { Ok("ok".into()) })
        }
    }

    #[test]
    fn every_verb_has_exactly_one_slot_and_an_empty_slot_refuses() {
        let r = Restores;
        let caps = Capabilities { point_in_time_restore: Some(&r), ..Capabilities::NONE };
        for verb in Verb::ALL {
            assert_eq!(caps.handler(verb).is_some(), verb == Verb::Restore, "{verb}");
        }
        assert_eq!(caps.handler(Verb::Restore).unwrap().accepted_params(Verb::Restore), ["time"]);
        let target = Target {
            kind: crate::actions::TargetKind::Resource,
            id: "db".into(),
            name: "orders".into(),
            environment: "dev".into(),
        };
        assert_eq!(
            caps.refusal("aws", Verb::Scale, &target).to_string(),
            "'scale' does not apply to orders: aws offers no 'scale' for a resource"
        );
        let caps = Capabilities { refusals: &[(Verb::Scale, "it scales itself")], ..caps };
        assert_eq!(
            caps.refusal("gcp", Verb::Scale, &target).to_string(),
            "'scale' does not apply to orders: it scales itself"
        );
    }
}
