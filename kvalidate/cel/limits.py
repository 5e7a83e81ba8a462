"""The API server's CEL limits (k8s.io/apiserver pkg/apis/cel/config.go, apiextensions
pkg/apiserver/schema/cel), and kvalidate's own time limit. Importing this module is free."""

from __future__ import annotations

PER_CALL_LIMIT = 1_000_000  # celconfig.PerCallLimit: runtime cost of one rule evaluation
RUNTIME_BUDGET = 10_000_000  # celconfig.RuntimeCELCostBudget: all rules of one custom resource
STATIC_RULE_LIMIT = 10_000_000  # StaticEstimatedCostLimit: estimated cost of one rule (CRD refused above)
STATIC_CRD_LIMIT = 100_000_000  # StaticEstimatedCRDCostLimit: estimated cost of all rules x cardinality
MAX_REQUEST_BYTES = 3 * 1024 * 1024  # the request size the estimator bounds unbounded lists, maps, strings by
MAX_MESSAGE_BYTES = 5 * 1024  # MaxEvaluatedMessageExpressionSizeBytes

# kvalidate's own: celpy is an interpreter in Python (~3-5 us a step, about 1000x cel-go), so the
# per-call limit could take seconds; past this an evaluation stops and is counted as skipped
TIME_LIMIT_S = 0.25
OBJECT_TIME_LIMIT_S = 2.0
