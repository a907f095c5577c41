//! NodePorts (reference scheduler §2.10): a pod's host ports must be free on the node. A port
//! conflicts with one in use of the same protocol and number when either address is 0.0.0.0
//! or both are the same.

use std::borrow::Cow;

use super::NodeInfo;

pub use crate::model::predicates::{NODE_PORTS as NAME, NODE_PORTS_REASON as REASON};

/// PreFilter state: the pod's wanted host ports (empty = Skip).
pub type PreState = Vec<(String, String, i32)>;

pub fn filter(wanted: &PreState, node: &NodeInfo) -> Result<(), Cow<'static, str>> {
    for (proto, ip, port) in wanted {
        let conflict = node.used_ports.iter().any(|(p2, ip2, port2)| {
            p2 == proto && port2 == port && (ip == "0.0.0.0" || ip2 == "0.0.0.0" || ip == ip2)
        });
        if conflict {
            return Err(REASON.into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::host_ports;
    use super::super::testutil::*;
    use super::*;
    use crate::model::{ContainerPort, Pod};

    fn port_pod(ports: &[(&str, &str, i32)]) -> Pod {
        let mut p = pod("p", &[&[]]);
        p.spec.containers[0].ports = ports
            .iter()
            .map(|(proto, ip, port)| ContainerPort {
                container_port: *port,
                host_port: *port,
                protocol: proto.to_string(),
                host_ip: ip.to_string(),
            })
            .collect();
        p
    }
    fn fits(new: &[(&str, &str, i32)], existing: &[(&str, &str, i32)]) -> bool {
        let snap = OwnedSnapshot::new(
            vec![node("n", 0, 0, &[])],
            vec![on(port_pod(existing), "n")],
        );
        filter(&host_ports(&port_pod(new)), snap.view().get(0)).is_ok()
    }

    // node_ports_test.go TestNodePorts (names of the upstream cases).
    #[test]
    fn node_ports_upstream_cases() {
        assert!(fits(&[], &[]), "nothing running");
        assert!(
            fits(&[("UDP", "127.0.0.1", 8080)], &[("UDP", "127.0.0.1", 9090)]),
            "other port"
        );
        assert!(
            !fits(&[("UDP", "127.0.0.1", 8080)], &[("UDP", "127.0.0.1", 8080)]),
            "same udp port"
        );
        assert!(
            !fits(&[("TCP", "127.0.0.1", 8080)], &[("TCP", "127.0.0.1", 8080)]),
            "same tcp port"
        );
        assert!(
            fits(&[("TCP", "127.0.0.1", 8080)], &[("TCP", "127.0.0.2", 8080)]),
            "different host ip"
        );
        assert!(
            fits(&[("UDP", "127.0.0.1", 8080)], &[("TCP", "127.0.0.1", 8080)]),
            "different protocol"
        );
        assert!(
            !fits(&[("TCP", "0.0.0.0", 8001)], &[("TCP", "127.0.0.1", 8001)]),
            "first tcp port conflict due to 0.0.0.0 hostIP"
        );
        assert!(
            !fits(&[("TCP", "127.0.0.1", 8001)], &[("TCP", "0.0.0.0", 8001)]),
            "second tcp port conflict to 0.0.0.0 hostIP"
        );
        assert!(
            fits(&[("TCP", "0.0.0.0", 8001)], &[("UDP", "127.0.0.1", 8001)]),
            "second different protocol"
        );
        assert!(
            !fits(&[("TCP", "", 8001)], &[("TCP", "127.0.0.1", 8001)]),
            "an empty hostIP is 0.0.0.0"
        );
    }
}
