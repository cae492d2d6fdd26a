//! Simulated agents, as people use the desk: each keeps its own agent page open (its agent
//! token's WebSocket, which makes it reachable), hears its offers there as `incoming:call`,
//! thinks a moment and clicks Accept (or, now and then, Reject) through the API, and when the
//! engine sets it away for missed offers, notices after a while and makes itself available again.

use super::dice::Dice;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;

/// The largest WebSocket frame a simulated page reads: a big floor's snapshot is one frame.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// How a simulated agent behaves; times before `speed`.
#[derive(Debug, Clone)]
pub struct AgentHabits {
    /// Seconds to click Accept or Reject after an offer arrives.
    pub think_s: (u64, u64),
    /// The share of offers it rejects.
    pub rejects: f64,
    /// Seconds until it notices it was set away and comes back.
    pub back_after_s: (u64, u64),
    /// Divides every time.
    pub speed: f64,
}

/// One simulated agent: the engine's base URL, its own agent token and id.
#[derive(Debug, Clone)]
pub struct SimulatedAgent {
    pub base: String,
    pub token: String,
    pub agent_id: String,
    pub habits: AgentHabits,
}

impl SimulatedAgent {
    /// Opens the agent's page and works its offers until the page closes (the engine stopped),
    /// then opens it again a second later, as a person reloads a page.
    pub async fn work(self, mut dice: Dice) {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .finish();
        loop {
            if let Err(error) = self.session(&client, &mut dice).await {
                tracing::debug!(%error, "a simulated agent's page closed");
            }
            actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// One open page: answers the server's pings, acts on its own offers and on being set away.
    async fn session(&self, client: &awc::Client, dice: &mut Dice) -> Result<(), String> {
        let url = format!(
            "{}/api/v1/ws?token={}",
            self.base.replacen("http", "ws", 1),
            self.token
        );
        let (_, mut page) = client
            .ws(url)
            .max_frame_size(MAX_FRAME)
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        while let Some(frame) = page.next().await {
            match frame.map_err(|e| e.to_string())? {
                awc::ws::Frame::Ping(bytes) => page
                    .send(awc::ws::Message::Pong(bytes))
                    .await
                    .map_err(|e| e.to_string())?,
                awc::ws::Frame::Text(text) => {
                    if let Ok(event) = serde_json::from_slice::<Value>(&text) {
                        self.react(client, &event, dice);
                    }
                }
                awc::ws::Frame::Close(_) => break,
                _ => {}
            }
        }
        Ok(())
    }

    /// What a person at this page does about one event.
    fn react(&self, client: &awc::Client, event: &Value, dice: &mut Dice) {
        let data = &event["data"];
        let habits = &self.habits;
        let (wait, method, path, body) = match event["type"].as_str() {
            Some("incoming:call") if data["offer"]["agent_id"] == self.agent_id.as_str() => {
                let Some(call_id) = data["call_id"].as_str() else {
                    return;
                };
                let verb = if dice.chance(habits.rejects) {
                    "reject"
                } else {
                    "accept"
                };
                (
                    dice.seconds(habits.think_s.0, habits.think_s.1, habits.speed),
                    awc::http::Method::POST,
                    format!("/api/v1/calls/{call_id}/{verb}"),
                    json!({"agent_id": self.agent_id}),
                )
            }
            Some("agent:updated")
                if data["id"] == self.agent_id.as_str() && data["availability"] == "away" =>
            {
                (
                    dice.seconds(habits.back_after_s.0, habits.back_after_s.1, habits.speed),
                    awc::http::Method::PATCH,
                    format!("/api/v1/agents/{}", self.agent_id),
                    json!({"availability": "available"}),
                )
            }
            _ => return,
        };
        let request = client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        actix_web::rt::spawn(async move {
            actix_web::rt::time::sleep(wait).await;
            // The offer may have moved on meanwhile (409): a person would have missed it too.
            let _ = request.send_json(&body).await;
        });
    }
}
