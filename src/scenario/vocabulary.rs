//! The canonical lists of the names a user writes or reads: manifest kinds, timeline faults and
//! actions, expectation kinds, and the event-log reasons. Invariant: each list equals what the
//! code accepts or logs — the tests in `vocabulary/tests.rs` derive the same sets from the
//! parser and from a scan of `src/**/*.rs` and fail on any difference, and
//! `tests/integration/docs.rs` holds the docs (`docs/outputs.md`, `docs/scenario-format.md`)
//! to these lists.

/// Manifest kinds kubesim reads (`workloads`, `cluster.nodes`, `kubesim explain --cluster`).
pub const MANIFEST_KINDS: &[&str] = crate::scenario::convert::KINDS;

/// Timeline fault kinds (a window from `at` for `duration`), in the parser's order.
pub const FAULTS: &[&str] = &[
    "nodeCrash",
    "kubeletStop",
    "vmDeleted",
    "networkPartition",
    "slowLeaseRenewals",
    "taintNodes",
    "apiServerUnavailable",
    "controllerManagerRestart",
    "registryOutage",
    "registrySlow",
    "runtimeHang",
    "crashLoop",
    "memoryLeak",
];

/// Timeline actions (instantaneous operator commands), in the parser's order.
pub const ACTIONS: &[&str] = &[
    "scaleDeployment",
    "setImage",
    "deleteObject",
    "rollbackDeployment",
    "cordon",
    "uncordon",
    "drain",
    "evictPod",
    "apply",
    "addNodes",
    "deleteNodes",
];

/// Expectation kinds (`expect[]` entries), in the parser's order.
pub const EXPECTATIONS: &[&str] = &[
    "nodeCondition",
    "nodeTaint",
    "podCount",
    "eventCount",
    "eventTime",
    "zoneState",
    "deployment",
    "endpoints",
    "pdb",
    "namespace",
    "job",
    "statefulSet",
    "daemonSet",
    "container",
    "podCondition",
    "replicaSet",
    "cronJob",
];

/// Every `reason` the source code can write to `events.jsonl`, sorted.
pub const EVENT_REASONS: &[&str] = &[
    "ActionApplied",
    "ActionFailed",
    "BackOff",
    "BackoffLimitExceeded",
    "CalculateExpectedPodCountFailed",
    "Completed",
    "Cordoned",
    "Created",
    "DeadlineExceeded",
    "Deleting",
    "DeletingNode",
    "DeploymentCondition",
    "DrainFailed",
    "DrainWarning",
    "Drained",
    "ErrImageNeverPull",
    "Evicted",
    "Evicting",
    "EvictionRetry",
    "EvictionThresholdMet",
    "Failed",
    "FailedCreate",
    "FailedScheduling",
    "FaultEnded",
    "FaultStarted",
    "FoundNewReplicaSet",
    "JobAlreadyActive",
    "JobFailed",
    "Killing",
    "LeaderElection",
    "LeaderElectionLost",
    "MinimumReplicasAvailable",
    "MinimumReplicasUnavailable",
    "MissedSchedule",
    "MultiplePodDisruptionBudgets",
    "NewReplicaSetAvailable",
    "NewReplicaSetCreated",
    "NoPods",
    "NodeNotReady",
    "NodeReady",
    "NotDeleted",
    "PodEvicted",
    "PodFailurePolicy",
    "PodGCForceDeleted",
    "Preempted",
    "ProgressDeadlineExceeded",
    "Pulled",
    "Pulling",
    "Rebooted",
    "RegisteredNode",
    "RemovingNode",
    "ReplicaSetUpdated",
    "Resumed",
    "SawCompletedJob",
    "ScalingReplicaSet",
    "Scheduled",
    "Started",
    "Starting",
    "StopWhen",
    "SuccessfulCreate",
    "SuccessfulDelete",
    "Suspended",
    "SyncProxyRules",
    "TaintAdded",
    "TaintManagerEviction",
    "TaintRemoved",
    "TooManyMissedTimes",
    "TooManySucceededPods",
    "Uncordoned",
    "Unhealthy",
    "UnmanagedPods",
    "ZoneStateChanged",
];

/// The reasons of a kubelet's admission rejection (`Admit`: a `Pod/…` record, source
/// `kubelet`, and the pod's `status.reason`), computed at run time: `OutOf<resource>` stands
/// for the resource's name after `OutOf` (`OutOfcpu`, `OutOfexample.com/gpu`).
pub const ADMISSION_REASONS: &[&str] = &[
    "NodeAffinity",
    "NodeName",
    "NodePorts",
    "OutOf<resource>",
    "TaintToleration",
];

#[cfg(test)]
mod scan;
#[cfg(test)]
mod tests;
