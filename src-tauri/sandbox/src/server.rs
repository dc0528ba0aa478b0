//! The HTTP/1.1 server loops (plain, and TLS with a client certificate required), with
//! per-connection control so a handler can drop the connection before any byte of its reply
//! is written (scenario 93, the `dropAfter` fault, the end of a hung call).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long a TLS client may take to finish its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-connection control, found in every request's extensions.
#[derive(Clone, Debug)]
pub struct ConnCtl {
    dropped: Arc<AtomicBool>,
}

impl ConnCtl {
    /// From now on the connection writes nothing more and is closed: the client
    /// sees the connection drop instead of a reply.
    pub fn drop_connection(&self) {
        self.dropped.store(true, Ordering::SeqCst);
    }

    pub fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// A stream (TCP, or TLS over TCP) whose writes fail once its connection was dropped, so
/// hyper gives up the connection without writing the pending reply.
struct DroppableIo<S> {
    inner: S,
    dropped: Arc<AtomicBool>,
}

fn dropped_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "sandbox dropped the connection")
}

impl<S> DroppableIo<S> {
    fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::SeqCst)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for DroppableIo<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DroppableIo<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.is_dropped() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.is_dropped() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.is_dropped() {
            return Poll::Ready(Err(dropped_error()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Accepts connections until `stop` changes (or its sender is gone), then aborts
/// every open connection, hung calls included. With `tls`, each connection must first
/// complete a TLS handshake (whose client-certificate rule the acceptor holds).
pub async fn serve(listener: TcpListener, router: Router, tls: Option<TlsAcceptor>, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let _ = tcp.set_nodelay(true);
                    match &tls {
                        None => conns.spawn(serve_connection(tcp, peer, router.clone())),
                        Some(acceptor) => conns.spawn(serve_tls(acceptor.clone(), tcp, peer, router.clone())),
                    };
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
}

async fn serve_tls(acceptor: TlsAcceptor, tcp: TcpStream, peer: SocketAddr, router: Router) {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => serve_connection(tls, peer, router).await,
        Ok(Err(e)) => tracing::info!("TLS handshake with {peer} refused: {e}"),
        Err(_) => tracing::info!("TLS handshake with {peer} timed out"),
    }
}

async fn serve_connection<S>(stream: S, peer: SocketAddr, router: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ctl = ConnCtl { dropped: Arc::new(AtomicBool::new(false)) };
    let io = TokioIo::new(DroppableIo { inner: stream, dropped: ctl.dropped.clone() });
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(ctl.clone());
        router.clone().oneshot(req.map(axum::body::Body::new))
    });
    if let Err(e) = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await {
        tracing::debug!("connection from {peer}: {e}");
    }
}

/// The TLS settings of the mutual-TLS listener: the server's certificate chain and key, and
/// a client-certificate verifier that requires a certificate chained to `client_ca_pem`.
/// The ring provider is named outright, so no process-wide default has to be installed.
pub fn tls_acceptor(server_cert_pem: &str, server_key_pem: &str, client_ca_pem: &str) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(server_cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("TLS server certificate: {e}"))?;
    if chain.is_empty() {
        return Err("TLS server certificate: no certificate in the PEM text".to_owned());
    }
    let key = PrivateKeyDer::from_pem_slice(server_key_pem.as_bytes()).map_err(|e| format!("TLS server key: {e}"))?;
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
        let ca = ca.map_err(|e| format!("client CA certificate: {e}"))?;
        roots.add(ca).map_err(|e| format!("client CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("client CA certificate: no certificate in the PEM text".to_owned());
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("client certificate verifier: {e}"))?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS server certificate and key: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
