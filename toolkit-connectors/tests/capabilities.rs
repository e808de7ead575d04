//! The capabilities the types without a server of their own declare hold for their instances
//! (the others are checked by their crates' behaviour suites, against real servers).

use std::sync::Arc;

use serde_json::json;
use toolkit_core::connector::{BuildContext, NoTools};
use toolkit_core::manifest::ConfigMaps;
use toolkit_core::secret::SecretStore;
use toolkit_core::{Tool, ToolSpec};

#[tokio::test]
async fn builtin_bash_kubectl_and_agent_do_what_they_declare() {
    let registry = toolkit_connectors::registry();
    let specs = [
        json!({"type": "builtin", "builtin": {"name": "noop"}}),
        json!({"type": "bash", "command": {"allowShell": true}, "readOnly": true}),
        json!({"type": "kubectl", "command": {"connectionRef": {"name": "cluster"}}}),
        json!({"type": "agent", "agent": {"name": "a", "url": "http://127.0.0.1:9/run"}, "timeout": "1s"}),
    ];
    for spec in specs {
        let spec: ToolSpec = serde_json::from_value(spec).unwrap();
        let connector = registry.get(&spec.type_).unwrap();
        assert_eq!(connector.validate(&spec), vec![], "{}", spec.type_);
        let instance = connector
            .build(BuildContext {
                tool: Arc::new(Tool::new("t", spec.clone())),
                namespace: "default".into(),
                name: "t".into(),
                secrets: Arc::new(SecretStore::default()),
                config_maps: Arc::new(ConfigMaps::default()),
                tools: Arc::new(NoTools),
            })
            .unwrap();
        toolkit_testkit::behaviour::check_capabilities(connector.as_ref(), instance.as_ref(), &spec).await;
    }
}
