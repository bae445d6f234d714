//! A small W3C WebDriver client over reqwest, driving Debian's Chromium through `chromedriver`:
//! just what the console's browser tests need (navigate, find by label or text, click, type,
//! read text, run a script, screenshot).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long to wait for the page to show something (the console fetches, then renders).
const PATIENCE: Duration = Duration::from_secs(15);

/// Where chromedriver is: `WARDEN_CHROMEDRIVER`, else `/usr/bin/chromedriver`. `None` when
/// missing on a developer's machine (the test reports itself skipped); under CI (`CI` set to
/// anything but `false`/`0`, or `WARDEN_REQUIRE_BROWSER` set, as `.ci/run` does) a missing
/// browser fails the test, so CI cannot pass it unrun.
pub fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("WARDEN_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    if path.exists() {
        return Some(path);
    }
    assert!(
        !warden_testkit::ci::browser_required(),
        "the console's browser tests need chromedriver at {} (apt-get install chromium chromium-driver)",
        path.display()
    );
    eprintln!("skipped: no chromedriver at {}", path.display());
    None
}

/// A running chromedriver, killed on drop.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Driver {
    pub async fn start(binary: &PathBuf) -> Driver {
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        for _ in 0..100 {
            let ready = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await;
            if let Ok(response) = ready {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if body["value"]["ready"] == json!(true) {
                    return driver;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not become ready");
    }

    /// A new headless browser window of `width` × `height` CSS pixels.
    pub async fn session(&self, width: u32, height: u32) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let binary =
            std::env::var("WARDEN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": args,
                "mobileEmulation": {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}},
            },
        }}});
        let answer = self
            .post(&format!("{}/session", self.base), &capabilities)
            .await;
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {answer}"))
            .to_owned();
        Browser {
            url: format!("{}/session/{id}", self.base),
            http: self.http.clone(),
            _profile: profile,
        }
    }

    async fn post(&self, url: &str, body: &Value) -> Value {
        self.http
            .post(url)
            .json(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser window.
pub struct Browser {
    url: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

/// A test that fails before [`Browser::close`] would leave its Chromium running (killing
/// chromedriver does not stop the browsers it started): stop every process of this window's
/// profile.
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .arg("-KILL")
            .arg("-f")
            .arg(self._profile.path())
            .status();
    }
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        answer["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// The first element `xpath` finds, waiting for the page to show it.
    pub async fn wait_for(&self, xpath: &str) -> Element {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(found) = self.find(xpath).await {
                return found;
            }
            if tokio::time::Instant::now() > deadline {
                let text = self.text_of_page().await;
                panic!("nothing matches {xpath}; the page shows:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn find(&self, xpath: &str) -> Option<Element> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "xpath", "value": xpath})),
            )
            .await;
        found[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned()))
    }

    /// The control labelled `label` (by `<label for>` or `aria-label`).
    pub async fn labelled(&self, label: &str) -> Element {
        self.wait_for(&format!(
            "//*[@id=//label[normalize-space(.)='{label}']/@for or @aria-label='{label}']"
        ))
        .await
    }

    /// The button whose text is `text` (visible ones only).
    pub async fn button(&self, text: &str) -> Element {
        self.wait_for(&format!(
            "//button[normalize-space(.)='{text}' and not(ancestor::*[@hidden]) and not(ancestor::dialog[not(@open)])]"
        ))
        .await
    }

    pub async fn click(&self, element: &Element) {
        let answer = self
            .call(
                reqwest::Method::POST,
                &format!("/element/{}/click", element.0),
                Some(json!({})),
            )
            .await;
        assert!(answer.is_null(), "the click failed: {answer}");
    }

    pub async fn type_into(&self, element: &Element, text: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/clear", element.0),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Waits until the page's visible text contains `text`.
    pub async fn wait_for_text(&self, text: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let shown = self.text_of_page().await;
            if shown.contains(text) {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("the page never showed {text:?}; it shows:\n{shown}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn text_of_page(&self) -> String {
        self.script("return document.body.innerText")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` in the page and returns its value.
    pub async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// A PNG of the window.
    pub async fn screenshot(&self) -> Vec<u8> {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .unwrap()
    }

    pub async fn close(self) {
        self.call(reqwest::Method::DELETE, "", None).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
