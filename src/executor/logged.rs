//! A connection wrapper that shows what is sent to a host at `-vvv`,
//! through the reporter (and so through redaction).

use std::sync::Arc;

use async_trait::async_trait;
use tokio::io::AsyncRead;

use crate::connection::{
    Become, Connection, ConnectionError, ExecOutput, ExecRequest, FileAttrs, FileStat, Tunnel,
    TunnelTarget,
};
use crate::output::Reporter;

pub struct Logged {
    pub inner: Arc<dyn Connection>,
    pub host: String,
    pub reporter: Arc<dyn Reporter>,
    /// Nothing is shown for `no_log` tasks.
    pub quiet: bool,
}

impl Logged {
    fn log(&self, msg: String) {
        if !self.quiet {
            self.reporter.verbose(3, &self.host, &msg);
        }
    }
}

#[async_trait]
impl Connection for Logged {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn identity(&self) -> usize {
        self.inner.identity()
    }

    async fn exec(&self, req: &ExecRequest) -> Result<ExecOutput, ConnectionError> {
        self.log(format!("EXEC {}", req.render()));
        let out = self.inner.exec(req).await?;
        self.log(format!("rc={}", out.rc));
        Ok(out)
    }

    async fn stat(
        &self,
        path: &str,
        b: Option<&Become>,
    ) -> Result<Option<FileStat>, ConnectionError> {
        self.log(format!("STAT {path}"));
        self.inner.stat(path, b).await
    }

    async fn read_file(
        &self,
        path: &str,
        b: Option<&Become>,
    ) -> Result<Option<Vec<u8>>, ConnectionError> {
        self.log(format!("READ {path}"));
        self.inner.read_file(path, b).await
    }

    async fn write_file(
        &self,
        path: &str,
        data: &[u8],
        attrs: &FileAttrs,
        b: Option<&Become>,
    ) -> Result<(), ConnectionError> {
        self.log(format!("PUT {path} ({} bytes)", data.len()));
        self.inner.write_file(path, data, attrs, b).await
    }

    async fn write_stream(
        &self,
        path: &str,
        reader: &mut (dyn AsyncRead + Send + Unpin),
        attrs: &FileAttrs,
        b: Option<&Become>,
    ) -> Result<u64, ConnectionError> {
        self.log(format!("PUT {path} (stream)"));
        self.inner.write_stream(path, reader, attrs, b).await
    }

    async fn open_read(
        &self,
        path: &str,
        b: Option<&Become>,
    ) -> Result<Box<dyn AsyncRead + Send + Unpin>, ConnectionError> {
        self.log(format!("GET {path} (stream)"));
        self.inner.open_read(path, b).await
    }

    async fn tunnel(&self, target: &TunnelTarget) -> Result<Box<dyn Tunnel>, ConnectionError> {
        self.log(format!("TUNNEL {target}"));
        self.inner.tunnel(target).await
    }
}
