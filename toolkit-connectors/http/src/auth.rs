//! Credentials of outgoing requests, resolved at call time: bearer, basic, API key, and OAuth2
//! client credentials with the token cached until 30 seconds before it expires.

use base64::Engine as _;
use reqwest::header::{ACCEPT, HeaderName, HeaderValue};
use toolkit_core::secret::SecretString;
use toolkit_core::token::{IssuedToken, RESPONSE_CAP};
use toolkit_core::{Error, ErrorKind, Result};

use crate::HttpTool;
use crate::config::AuthConfig;
use crate::request::Seen;
use crate::response::{Answer, classify};

tokio::task_local! {
    /// The caller's access token during one call, for a tool that exchanges it.
    pub(crate) static SUBJECT: Option<SecretString>;
}

/// Exchanged tokens kept at most, one per caller token.
pub(crate) const MAX_EXCHANGED: usize = 1024;

impl HttpTool {
    /// The credential header, if the tool authenticates. Secret values are added to `seen`.
    pub(crate) async fn auth_header(&self, seen: &mut Seen) -> Result<Option<(HeaderName, SecretString)>> {
        let Some(auth) = &self.cfg.auth else { return Ok(None) };
        let value = match auth {
            AuthConfig::Bearer { token, .. } => {
                let t = self.value(&crate::config::Source::Secret(token.clone()), seen).await?;
                SecretString::new(format!("Bearer {}", t.expose()))
            }
            AuthConfig::ApiKey { key, .. } => self.value(&crate::config::Source::Secret(key.clone()), seen).await?,
            AuthConfig::Basic { username, password, .. } => {
                let user = self.value(username, seen).await?;
                let pass = self.value(&crate::config::Source::Secret(password.clone()), seen).await?;
                let pair = SecretString::new(format!("{}:{}", user.expose(), pass.expose()));
                let encoded = SecretString::new(base64::engine::general_purpose::STANDARD.encode(pair.expose()));
                seen.push(encoded.clone());
                SecretString::new(format!("Basic {}", encoded.expose()))
            }
            AuthConfig::OAuth2 { .. } => {
                let t = self.oauth2_token(auth, seen).await?;
                SecretString::new(format!("Bearer {}", t.expose()))
            }
            AuthConfig::TokenExchange { .. } => {
                let t = self.exchanged_token(auth, seen).await?;
                SecretString::new(format!("Bearer {}", t.expose()))
            }
        };
        Ok(Some((auth.header().clone(), value)))
    }

    /// Drops the cached OAuth2 token.
    pub(crate) async fn forget_token(&self) {
        if matches!(self.cfg.auth, Some(AuthConfig::OAuth2 { .. })) {
            self.token.lock().await.take();
        }
    }

    /// A token for the upstream, exchanged (RFC 8693) for the caller's own at the tool's token
    /// endpoint and kept until 30 seconds before it expires. The caller's token goes to the
    /// token endpoint only.
    async fn exchanged_token(&self, auth: &AuthConfig, seen: &mut Seen) -> Result<SecretString> {
        let AuthConfig::TokenExchange { exchange, .. } = auth else {
            return Err(Error::internal("exchange a token: the tool does not use tokenExchange"));
        };
        let subject = SUBJECT.try_with(Clone::clone).ok().flatten().ok_or_else(|| {
            Error::new(ErrorKind::Auth, "exchange the caller's token: the caller presented no OAuth access token")
                .with_context("hint", "call this tool through the gateway with an access token of its --oauth-issuer")
        })?;
        seen.push(subject.clone());
        if let Some(token) = self.exchanged.get(&subject) {
            seen.push(token.clone());
            return Ok(token);
        }
        let form = exchange.form(&subject);
        let secret = match &exchange.client_secret {
            Some(s) => Some(self.value(&crate::config::Source::Secret(s.clone()), seen).await?),
            None => None,
        };
        let basic = secret.as_ref().map(|s| (exchange.client_id.as_str(), s));
        let issued = self.token_request("exchange the caller's token", &exchange.token_url, &form, basic, seen).await?;
        drop(self.exchanged.insert(&subject, issued.token.clone(), issued.renew_at));
        Ok(issued.token)
    }

    async fn oauth2_token(&self, auth: &AuthConfig, seen: &mut Seen) -> Result<SecretString> {
        let AuthConfig::OAuth2 { token_url, client_id, client_secret, scopes, .. } = auth else {
            return Err(Error::internal("get an oauth2 token: the tool does not use oauth2"));
        };
        // Held while fetching, so concurrent calls wait for one request instead of each sending one.
        let mut cached = self.token.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| c.is_fresh()) {
            seen.push(c.token.clone());
            return Ok(c.token.clone());
        }
        let secret = self.value(&crate::config::Source::Secret(client_secret.clone()), seen).await?;
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", client_id.clone()),
            ("client_secret", secret.expose().to_owned()),
        ];
        if !scopes.is_empty() {
            form.push(("scope", scopes.join(" ")));
        }
        let form = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&form).finish();
        let fetched =
            self.token_request("get an oauth2 token", token_url, &SecretString::new(form), None, seen).await?;
        let token = fetched.token.clone();
        *cached = Some(fetched);
        Ok(token)
    }

    /// Posts `form` (urlencoded) to a token endpoint, with HTTP Basic client credentials when
    /// given, and reads `access_token`; the token is added to `seen`. A 400, 401 or 403 is an
    /// `auth` error (RFC 6749 answers 400 `invalid_client` for bad client credentials).
    async fn token_request(
        &self,
        action: &str,
        token_url: &url::Url,
        form: &SecretString,
        basic: Option<(&str, &SecretString)>,
        seen: &mut Seen,
    ) -> Result<IssuedToken> {
        let client = self.client().await?;
        let mut request = client
            .post(token_url.clone())
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(reqwest::header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret.expose()));
        }
        let resp = request.body(form.expose().to_owned()).send().await.map_err(|e| classify(e, action))?;
        let answer = Answer::read(resp, RESPONSE_CAP).await?;
        if !answer.status.is_success() {
            let mut err = answer.status_error(&self.redacted(seen));
            if matches!(answer.status.as_u16(), 400 | 401 | 403) {
                err = Error::new(ErrorKind::Auth, format!("{action}: {}", err.message()))
                    .with_context("token_url", token_url.as_str());
            }
            return Err(err);
        }
        let issued = IssuedToken::read(&answer.body).ok_or_else(|| {
            Error::new(ErrorKind::Upstream, format!("{action}: the answer has no `access_token`"))
                .with_context("token_url", token_url.as_str())
        })?;
        seen.push(issued.token.clone());
        Ok(issued)
    }
}
