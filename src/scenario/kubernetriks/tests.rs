use super::*;

fn one(text: &str) -> Result<Imported, String> {
    import(&[("t.yaml".to_string(), text.to_string())], "t")
}

const NODE: &str = "- timestamp: 0
  event_type: !CreateNode
    node:
      metadata: {name: n1}
      status: {capacity: {cpu: 8000, ram: 1073741824}}
";

fn pod(t: &str, name: &str, cpu: u32, run: &str) -> String {
    format!(
        "- timestamp: {t}
  event_type: !CreatePod
    pod:
      metadata: {{name: {name}}}
      spec:
        resources:
          requests: {{cpu: {cpu}, ram: 1024}}
          limits: {{cpu: {cpu}, ram: 1024}}
        {run}
"
    )
}

#[test]
fn shapes_are_distinct_requests_limits_and_run_times() {
    let text = format!(
        "events:\n{NODE}{}{}{}{}",
        pod("2.5", "a", 500, "running_duration: 1.25"),
        pod("1", "b", 500, "running_duration: 1.25"),
        pod("3", "c", 1000, "running_duration: 1.25"),
        pod("4", "d", 500, ""),
    );
    let r = one(&text).expect("imports");
    // Sorted by timestamp; seconds exact to the millisecond as Go durations.
    assert_eq!(
        r.pods_csv,
        "time,shape,name\n1s,shape-0,b\n2500ms,shape-0,a\n3s,shape-1,c\n4s,shape-2,d\n"
    );
    // 1.25 s of running → a fixed 1250 ms run; a pod without running_duration runs on.
    assert!(r.scenario.contains("run: 1250ms"), "{}", r.scenario);
    assert_eq!(r.scenario.matches("kubesim.io/behavior").count(), 2);
    assert!(r.scenario.contains("cpu: 500m") && r.scenario.contains("memory: '1024'"));
    assert_eq!((r.nodes, r.pods), (1, 4));
}

#[test]
fn a_late_node_of_a_new_shape_is_an_error_naming_the_event() {
    let late = NODE
        .replace("timestamp: 0", "timestamp: 9")
        .replace("n1", "n2")
        .replace("8000", "4000");
    let text = format!("events:\n{NODE}{}{late}", pod("1", "a", 500, ""));
    let e = one(&text).err().expect("error");
    assert!(
        e.starts_with("t.yaml: error: events[2]: node \"n2\" at 9 s"),
        "{e}"
    );
}

#[test]
fn yaml_errors_carry_line_and_column() {
    let e = one("events:\n- timestamp: x\n  event_type: !RemoveNode {node_name: a}\n")
        .err()
        .expect("error");
    assert!(e.starts_with("t.yaml:2:"), "{e}");
}
