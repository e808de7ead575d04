//! The toolkit Kubernetes operator
