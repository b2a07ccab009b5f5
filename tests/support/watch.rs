//! A loopback port that no server answers, named as a host's SSH port, to
//! prove that a run refused its input before it contacted any host.
#![allow(dead_code)]

use std::net::TcpListener;

/// A listening port that counts the connections it accepts.
pub struct Watch {
    listener: TcpListener,
}

impl Watch {
    pub fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Watch { listener }
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    /// An inventory whose one host `web1` (group `web`) logs in here.
    pub fn inventory(&self) -> String {
        format!(
            "[web]\nweb1 ansible_host=127.0.0.1 ansible_port={} ansible_user=root\n",
            self.port()
        )
    }

    pub fn assert_untouched(&self) {
        assert!(self.listener.accept().is_err(), "a connection was opened");
    }
}
