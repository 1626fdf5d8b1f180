//! How a session's generator pods are doing, read from the Job's status (for health).

use k8s_openapi::api::batch::v1::Job;

/// The Job's pod counts and, once it has one, its outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GeneratorPods {
    /// Generators asked for (`completions`).
    pub expected: u32,
    /// Pods running (or starting).
    pub active: u32,
    /// Running pods that are ready.
    pub ready: u32,
    /// Generators that finished and exited 0.
    pub succeeded: u32,
    /// Generators that failed (never restarted: `backoffLimit: 0`).
    pub failed: u32,
    /// `Some(true)` once the Job is complete, `Some(false)` once it has failed.
    pub complete: Option<bool>,
}

impl GeneratorPods {
    pub fn from_job(job: &Job) -> GeneratorPods {
        let count = |n: Option<i32>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
        let expected = count(job.spec.as_ref().and_then(|s| s.completions));
        let Some(status) = &job.status else {
            return GeneratorPods {
                expected,
                ..GeneratorPods::default()
            };
        };
        let holds = |kind: &str| {
            status
                .conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == kind && c.status == "True")
        };
        let complete = if holds("Complete") {
            Some(true)
        } else if holds("Failed") {
            Some(false)
        } else {
            None
        };
        GeneratorPods {
            expected,
            active: count(status.active),
            ready: count(status.ready),
            succeeded: count(status.succeeded),
            failed: count(status.failed),
            complete,
        }
    }

    /// Whether a generator has failed or the Job has (the session cannot have all its
    /// generators any more).
    pub fn has_failed(&self) -> bool {
        self.failed > 0 || self.complete == Some(false)
    }

    /// Pods not created yet (asked for, but neither active nor finished).
    pub fn not_created(&self) -> u32 {
        self.expected
            .saturating_sub(self.active + self.succeeded + self.failed)
    }
}

/// `3 asked: 1 ready, 1 starting, 0 not created, 0 succeeded, 1 failed (the Job failed)`.
impl std::fmt::Display for GeneratorPods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} asked: {} ready, {} starting, {} not created, {} succeeded, {} failed",
            self.expected,
            self.ready.min(self.active),
            self.active.saturating_sub(self.ready),
            self.not_created(),
            self.succeeded,
            self.failed,
        )?;
        match self.complete {
            Some(true) => f.write_str(" (the Job is complete)"),
            Some(false) => f.write_str(" (the Job failed)"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus};

    #[test]
    fn counts_and_outcome() {
        let job = Job {
            spec: Some(JobSpec {
                completions: Some(3),
                ..JobSpec::default()
            }),
            status: Some(JobStatus {
                active: Some(2),
                ready: Some(1),
                failed: Some(1),
                conditions: Some(vec![JobCondition {
                    type_: "Failed".into(),
                    status: "True".into(),
                    ..JobCondition::default()
                }]),
                ..JobStatus::default()
            }),
            ..Job::default()
        };
        let pods = GeneratorPods::from_job(&job);
        assert_eq!(
            (pods.expected, pods.active, pods.ready, pods.failed),
            (3, 2, 1, 1)
        );
        assert_eq!(pods.complete, Some(false));
        assert!(pods.has_failed());
        assert_eq!(
            pods.to_string(),
            "3 asked: 1 ready, 1 starting, 0 not created, 0 succeeded, 1 failed (the Job failed)"
        );
        let fresh = GeneratorPods::from_job(&Job::default());
        assert_eq!(fresh, GeneratorPods::default());
    }
}
