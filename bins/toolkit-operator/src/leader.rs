//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas only one
//! reconciles and writes.
//!
//! Every change of the Lease is a compare-and-swap: a replace that carries the
//! `resourceVersion` it read, which the API server refuses with 409 Conflict when another
//! replica wrote in between. A replica takes the Lease when nobody holds it or its holder has
//! not renewed it within `leaseDurationSeconds`, and renews it every third of that.

use std::time::Duration;

use chrono::Utc;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::PostParams;
use kube::{Api, Client};
use tracing::{debug, info};

/// Contends for one Lease as one identity.
#[derive(Clone)]
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector").field("lease", &self.name).field("identity", &self.identity).finish()
    }
}

impl LeaderElector {
    /// Contends for Lease `namespace/name` as `identity`, holding it for `duration` per renewal.
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str, duration: Duration) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
            duration: duration.max(Duration::from_secs(1)),
        }
    }

    /// How often the holder renews, and a follower tries again.
    pub fn retry_period(&self) -> Duration {
        self.duration / 3
    }

    /// The identity this elector holds the Lease as.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Takes or renews the Lease once; `true` when this identity holds it afterwards. Losing a
    /// race to another replica is `false`, not an error.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Utc::now();
        let seconds = i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX);
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.name.clone()), ..ObjectMeta::default() },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => {
                    info!(lease = %self.name, identity = %self.identity, "created the lease and leads");
                    Ok(true)
                }
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let mine = holder.as_deref() == Some(self.identity.as_str());
        let held_for = Duration::from_secs(u64::try_from(spec.lease_duration_seconds.unwrap_or(seconds)).unwrap_or(0));
        let expired = spec
            .renew_time
            .as_ref()
            .is_none_or(|t| t.0 + chrono::Duration::from_std(held_for).unwrap_or(chrono::Duration::MAX) < now);
        if !mine && holder.is_some() && !expired {
            return Ok(false);
        }
        if !mine {
            spec.acquire_time = Some(MicroTime(now));
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            spec.holder_identity = Some(self.identity.clone());
        }
        spec.renew_time = Some(MicroTime(now));
        spec.lease_duration_seconds = Some(seconds);
        // `lease` still carries the resourceVersion it was read at: the compare of the swap.
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(_) => {
                if !mine {
                    info!(lease = %self.name, identity = %self.identity, previous = ?holder, "took the lease and leads");
                }
                Ok(true)
            }
            Err(kube::Error::Api(e)) if e.code == 409 => {
                debug!(lease = %self.name, "another replica wrote the lease first");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Gives the Lease up if this identity holds it, so a follower takes over at once.
    pub async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.name).await? else { return Ok(()) };
        let Some(spec) = lease.spec.as_mut() else { return Ok(()) };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(_) | Err(kube::Error::Api(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
