//! `holdfast dev seed --portal-documents N --portal-requests N`: synthetic portals for demos and
//! benchmarks — each company's documents go through the real upload pipeline and are shared,
//! its requests are open and due over the coming weeks (offline, trusted).

use super::{NewRequest, Portal};
use crate::app::auth::ClientInfo;
use crate::domain::crm::Company;
use crate::domain::ids::RecordId;
use crate::error::AppError;

/// Documents taken in at once (the server's upload slots).
const AT_ONCE: usize = 8;

/// A small, valid PNG, different for each `n` (its pixel's colour).
fn photo(n: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(41);
    bytes.extend_from_slice(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]);
    bytes.extend_from_slice(&[0, 0, 0, 13]);
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
    bytes.extend_from_slice(&[0x1f, 0x15, 0xc4, 0x89]);
    bytes.extend_from_slice(&(n as u64).to_be_bytes());
    bytes
}

impl Portal<'_> {
    /// Gives each of `companies` (of the workspace named `workspace`) `documents` shared files
    /// and `requests` open requests; answers how many of each were made.
    pub async fn seed(
        &self,
        workspace: &str,
        companies: &[RecordId],
        documents: usize,
        requests: usize,
        progress: impl Fn(usize) + Send + Sync,
    ) -> Result<(usize, usize), AppError> {
        let scope = crate::app::auth::offline_scope(self, workspace).await?;
        let client = ClientInfo::new("127.0.0.1", "holdfast dev seed");
        let due =
            |n: usize| crate::domain::fields::Day::of_unix(self.now() + 86_400 * (7 + (n % 60) as i64)).to_string();
        let (mut shared, mut asked) = (0, 0);
        for (done, company) in companies.iter().enumerate() {
            for batch in (0..documents).collect::<Vec<_>>().chunks(AT_ONCE) {
                let (scope, client) = (&scope, &client);
                let uploads = batch.iter().map(|&n| async move {
                    let name = format!("document {n}.png");
                    let mut intake = self.files().intake::<Company>(scope, *company, &name).await?;
                    intake.push(&photo(done * documents + n)).await?;
                    let row = intake.commit(client).await?;
                    self.share(scope, *company, row.id, client).await
                });
                for result in futures_util::future::join_all(uploads).await {
                    result?;
                    shared += 1;
                }
            }
            for n in 0..requests {
                let request = NewRequest {
                    title: format!("Request {n}"),
                    due: due(done + n),
                    items: vec!["Bank statements".to_owned(), "Signed engagement letter".to_owned()],
                    template: None,
                };
                self.create_request(&scope, *company, &request, &client).await?;
                asked += 1;
            }
            progress(done + 1);
        }
        Ok((shared, asked))
    }
}
