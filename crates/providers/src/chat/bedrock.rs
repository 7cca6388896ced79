//! Amazon Bedrock Runtime's Converse (one reply) and ConverseStream (the reply as it is written),
//! over the AWS SDK: the credentials are the function's own role, so no key is handled here.
//!
//! Converse wants strictly alternating user and assistant messages, and tool results as blocks
//! of a user message: a run of tool turns (one per call the model asked for) becomes one user
//! message with one `toolResult` block each, and any other run of turns with the same role is
//! merged likewise. Tool schemas and arguments travel as `Document`s, converted from and to JSON
//! here.

use super::{ChatError, DeltaSink, PartialCalls, stop_with_tools, truncated};
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ContentBlockStart, ConversationRole, ConverseOutput, ConverseStreamOutput, InferenceConfiguration,
    Message, SystemContentBlock, Tool, ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock, ToolSpecification,
    ToolUseBlock,
};
use aws_smithy_types::{Document, Number};
use bourse_domain::assistant::{ChatReply, ChatRequest, ChatRole, ChatTurn, StopReason, TokenUsage, ToolCall};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// A Bedrock Runtime client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Bedrock {
    client: aws_sdk_bedrockruntime::Client,
}

/// A [`ChatRequest`] in Converse's terms (the same for Converse and ConverseStream).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Converse {
    pub(crate) system: Vec<SystemContentBlock>,
    pub(crate) messages: Vec<Message>,
    pub(crate) inference: InferenceConfiguration,
    /// `None` without tools: Converse refuses an empty list.
    pub(crate) tools: Option<ToolConfiguration>,
}

impl Bedrock {
    pub fn new(client: aws_sdk_bedrockruntime::Client) -> Self {
        Bedrock { client }
    }

    /// One call to `request.model` (a model or inference profile id). With `deltas`, the reply
    /// streams (ConverseStream) and every text delta is sent there as it arrives. The whole
    /// exchange is bounded by `timeout`.
    pub async fn complete(&self, request: &ChatRequest, deltas: Option<&DeltaSink>, timeout: Duration) -> Result<ChatReply, ChatError> {
        let converse = translate(request)?;
        let exchange = async {
            match deltas {
                None => {
                    let output = self
                        .client
                        .converse()
                        .model_id(&request.model)
                        .set_system(Some(converse.system))
                        .set_messages(Some(converse.messages))
                        .inference_config(converse.inference)
                        .set_tool_config(converse.tools)
                        .send()
                        .await
                        .map_err(sdk_error)?;
                    let (text, tool_calls) = match output.output() {
                        Some(ConverseOutput::Message(message)) => read_message(message),
                        _ => return Err(ChatError::Malformed("Converse answered no message".into())),
                    };
                    let stop = stop_with_tools(stop_reason(output.stop_reason().as_str()), &tool_calls);
                    Ok(ChatReply { text, tool_calls, usage: output.usage().map(usage).unwrap_or_default(), stop })
                }
                Some(sink) => {
                    let mut output = self
                        .client
                        .converse_stream()
                        .model_id(&request.model)
                        .set_system(Some(converse.system))
                        .set_messages(Some(converse.messages))
                        .inference_config(converse.inference)
                        .set_tool_config(converse.tools)
                        .send()
                        .await
                        .map_err(sdk_error)?;
                    let mut reply = StreamedReply::default();
                    while let Some(event) = output.stream.recv().await.map_err(sdk_error)? {
                        reply.event(event, sink);
                    }
                    reply.finish()
                }
            }
        };
        tokio::time::timeout(timeout, exchange).await.map_err(|_| ChatError::Timeout)?
    }
}

/// The request in Converse's terms: the system prompt, the merged messages, the inference
/// settings and the tools.
pub(crate) fn translate(request: &ChatRequest) -> Result<Converse, ChatError> {
    let invalid = |e: aws_sdk_bedrockruntime::error::BuildError| ChatError::Refused(format!("invalid request: {e}"));
    let system = if request.system.trim().is_empty() { vec![] } else { vec![SystemContentBlock::Text(request.system.clone())] };
    let mut runs: Vec<(ConversationRole, Vec<ContentBlock>)> = Vec::new();
    for turn in &request.turns {
        let role = match turn.role {
            ChatRole::Assistant => ConversationRole::Assistant,
            ChatRole::User | ChatRole::Tool => ConversationRole::User,
        };
        let blocks = blocks(turn).map_err(invalid)?;
        match runs.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => runs.push((role, blocks)),
        }
    }
    let messages = runs
        .into_iter()
        .filter(|(_, content)| !content.is_empty())
        .map(|(role, content)| Message::builder().role(role).set_content(Some(content)).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let inference = InferenceConfiguration::builder()
        .max_tokens(i32::try_from(request.max_output_tokens).unwrap_or(i32::MAX))
        .temperature(request.temperature)
        .build();
    let tools = if request.tools.is_empty() {
        None
    } else {
        let mut config = ToolConfiguration::builder();
        for tool in &request.tools {
            let spec = ToolSpecification::builder()
                .name(tool.name)
                .description(tool.description)
                .input_schema(ToolInputSchema::Json(document(&tool.parameters)))
                .build()
                .map_err(invalid)?;
            config = config.tools(Tool::ToolSpec(spec));
        }
        Some(config.build().map_err(invalid)?)
    };
    Ok(Converse { system, messages, inference, tools })
}

/// A turn's content blocks: its text (none when blank: Converse refuses blank text), its tool
/// calls, or its tool result.
fn blocks(turn: &ChatTurn) -> Result<Vec<ContentBlock>, aws_sdk_bedrockruntime::error::BuildError> {
    if turn.role == ChatRole::Tool {
        let result = ToolResultBlock::builder()
            .tool_use_id(turn.tool_call_id.as_deref().unwrap_or_default())
            .content(ToolResultContentBlock::Text(turn.content.clone()))
            .build()?;
        return Ok(vec![ContentBlock::ToolResult(result)]);
    }
    let mut blocks = Vec::with_capacity(1 + turn.tool_calls.len());
    if !turn.content.trim().is_empty() {
        blocks.push(ContentBlock::Text(turn.content.clone()));
    }
    for call in &turn.tool_calls {
        // Converse takes only an object: arguments that were not one (the caller refused them)
        // go back as `{}`.
        let input = if call.arguments.is_object() { document(&call.arguments) } else { Document::Object(HashMap::new()) };
        blocks.push(ContentBlock::ToolUse(ToolUseBlock::builder().tool_use_id(&call.id).name(&call.name).input(input).build()?));
    }
    Ok(blocks)
}

/// The text and the tool calls of a Converse reply.
fn read_message(message: &Message) -> (String, Vec<ToolCall>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in message.content() {
        match block {
            ContentBlock::Text(piece) => text.push_str(piece),
            ContentBlock::ToolUse(tool_use) => calls.push(ToolCall {
                id: tool_use.tool_use_id().to_owned(),
                name: tool_use.name().to_owned(),
                arguments: json(tool_use.input()),
            }),
            _ => {}
        }
    }
    (text, calls)
}

fn stop_reason(reason: &str) -> StopReason {
    match reason {
        "tool_use" => StopReason::ToolUse,
        "max_tokens" | "model_context_window_exceeded" => StopReason::MaxTokens,
        "guardrail_intervened" | "content_filtered" => StopReason::ContentFiltered,
        _ => StopReason::EndTurn,
    }
}

fn usage(usage: &aws_sdk_bedrockruntime::types::TokenUsage) -> TokenUsage {
    TokenUsage {
        input_tokens: u64::try_from(usage.input_tokens()).unwrap_or(0),
        output_tokens: u64::try_from(usage.output_tokens()).unwrap_or(0),
    }
}

/// What a ConverseStream reply has said so far.
#[derive(Default)]
struct StreamedReply {
    text: String,
    calls: PartialCalls,
    stop: Option<StopReason>,
    usage: TokenUsage,
}

impl StreamedReply {
    fn event(&mut self, event: ConverseStreamOutput, sink: &DeltaSink) {
        match event {
            ConverseStreamOutput::ContentBlockStart(start) => {
                if let Some(ContentBlockStart::ToolUse(tool_use)) = start.start() {
                    let index = i64::from(start.content_block_index());
                    self.calls.add(index, Some(tool_use.tool_use_id()), Some(tool_use.name()), None);
                }
            }
            ConverseStreamOutput::ContentBlockDelta(delta) => match delta.delta() {
                Some(ContentBlockDelta::Text(piece)) if !piece.is_empty() => {
                    self.text.push_str(piece);
                    // A receiver gone away still lets the reply be read to its end (and billed).
                    let _ = sink.send(piece.clone());
                }
                Some(ContentBlockDelta::ToolUse(tool_use)) => {
                    self.calls.add(i64::from(delta.content_block_index()), None, None, Some(tool_use.input()));
                }
                _ => {}
            },
            ConverseStreamOutput::MessageStop(stop) => self.stop = Some(stop_reason(stop.stop_reason().as_str())),
            ConverseStreamOutput::Metadata(metadata) => {
                if let Some(tokens) = metadata.usage() {
                    self.usage = usage(tokens);
                }
            }
            _ => {}
        }
    }

    fn finish(self) -> Result<ChatReply, ChatError> {
        let stop = self.stop.ok_or_else(|| ChatError::Malformed("the stream ended before the reply did".into()))?;
        let tool_calls = self.calls.finish();
        Ok(ChatReply { stop: stop_with_tools(stop, &tool_calls), text: self.text, tool_calls, usage: self.usage })
    }
}

/// Classifies an SDK error (of a call, or of an event of the stream) by its error code.
fn sdk_error<E, R>(err: SdkError<E, R>) -> ChatError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = || truncated(err.message().unwrap_or_default());
    match &err {
        SdkError::TimeoutError(_) => return ChatError::Timeout,
        SdkError::DispatchFailure(failure) if failure.is_timeout() => return ChatError::Timeout,
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
            return ChatError::Transport(aws_sdk_bedrockruntime::error::DisplayErrorContext(&err).to_string());
        }
        SdkError::ResponseError(_) => return ChatError::Malformed(truncated(&err.to_string())),
        _ => {}
    }
    match err.code().unwrap_or_default() {
        "ThrottlingException" | "ServiceQuotaExceededException" | "TooManyRequestsException" => {
            ChatError::RateLimited { retry_after: None }
        }
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "IncompleteSignature"
        | "MissingAuthenticationTokenException" => ChatError::Unauthorized,
        "ValidationException" | "ResourceNotFoundException" => ChatError::Refused(message()),
        "ModelTimeoutException" | "ServiceUnavailableException" | "ModelNotReadyException" => ChatError::Server(503),
        code => {
            tracing::warn!(code, message = %message(), "unexpected Bedrock error");
            ChatError::Server(500)
        }
    }
}

/// JSON as a smithy `Document`.
fn document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or_default())
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(document).collect()),
        Value::Object(map) => Document::Object(map.iter().map(|(k, v)| (k.clone(), document(v))).collect()),
    }
}

/// A smithy `Document` as JSON (a float that JSON cannot hold is null).
fn json(document: &Document) -> Value {
    match document {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(json).collect()),
        Document::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bourse_domain::assistant::ToolSpec;
    use serde_json::json as j;

    fn request() -> ChatRequest {
        ChatRequest {
            model: "anthropic.claude-3-haiku".into(),
            system: "You are Bourse's assistant.".into(),
            turns: vec![
                ChatTurn::user("How is my portfolio doing?"),
                ChatTurn::assistant(
                    "",
                    vec![
                        ToolCall { id: "t1".into(), name: "portfolio_summary".into(), arguments: j!({"portfolio": "main"}) },
                        ToolCall { id: "t2".into(), name: "quote".into(), arguments: j!("{not json") },
                    ],
                ),
                ChatTurn::tool("t1", r#"{"value": 1234.5}"#),
                ChatTurn::tool("t2", r#"{"error": "invalid arguments"}"#),
                ChatTurn::user("And compared to last week?"),
            ],
            tools: vec![ToolSpec {
                name: "quote",
                description: "The latest price of a symbol.",
                parameters: j!({"type": "object", "properties": {"symbol": {"type": "string"}, "limit": {"type": "integer", "minimum": -1}}, "required": ["symbol"]}),
            }],
            temperature: 0.2,
            max_output_tokens: 800,
        }
    }

    #[test]
    fn tool_turns_are_merged_into_one_user_message_and_roles_alternate() {
        let converse = translate(&request()).unwrap();
        assert_eq!(converse.system, vec![SystemContentBlock::Text("You are Bourse's assistant.".into())]);
        let roles: Vec<_> = converse.messages.iter().map(|m| m.role().clone()).collect();
        assert_eq!(roles, [ConversationRole::User, ConversationRole::Assistant, ConversationRole::User]);

        // The assistant turn: no blank text block, one toolUse per call; non-object arguments as {}.
        let assistant = converse.messages[1].content();
        assert_eq!(assistant.len(), 2);
        let ContentBlock::ToolUse(first) = &assistant[0] else { panic!("toolUse expected: {assistant:?}") };
        assert_eq!((first.tool_use_id(), first.name()), ("t1", "portfolio_summary"));
        assert_eq!(json(first.input()), j!({"portfolio": "main"}));
        let ContentBlock::ToolUse(second) = &assistant[1] else { panic!("toolUse expected") };
        assert_eq!(json(second.input()), j!({}));

        // Both tool results, then the next user text, in one user message.
        let user = converse.messages[2].content();
        assert_eq!(user.len(), 3);
        let ids: Vec<_> = user.iter().filter_map(|b| b.as_tool_result().ok()).map(|r| r.tool_use_id().to_owned()).collect();
        assert_eq!(ids, ["t1", "t2"]);
        let ContentBlock::ToolResult(result) = &user[0] else { panic!("toolResult expected") };
        assert_eq!(result.content(), [ToolResultContentBlock::Text(r#"{"value": 1234.5}"#.into())]);
        assert_eq!(user[2], ContentBlock::Text("And compared to last week?".into()));
    }

    #[test]
    fn tools_and_settings_are_translated() {
        let converse = translate(&request()).unwrap();
        assert_eq!(converse.inference.max_tokens(), Some(800));
        assert_eq!(converse.inference.temperature(), Some(0.2));
        let tools = converse.tools.unwrap();
        let Tool::ToolSpec(spec) = &tools.tools()[0] else { panic!("toolSpec expected") };
        assert_eq!((spec.name(), spec.description()), ("quote", Some("The latest price of a symbol.")));
        let Some(ToolInputSchema::Json(schema)) = spec.input_schema() else { panic!("JSON schema expected") };
        assert_eq!(json(schema), request().tools[0].parameters);

        let bare = ChatRequest { tools: vec![], system: String::new(), ..request() };
        let converse = translate(&bare).unwrap();
        assert!(converse.tools.is_none() && converse.system.is_empty());
    }

    #[test]
    fn stop_reasons_and_stream_events_are_read() {
        assert_eq!(stop_reason("end_turn"), StopReason::EndTurn);
        assert_eq!(stop_reason("stop_sequence"), StopReason::EndTurn);
        assert_eq!(stop_reason("tool_use"), StopReason::ToolUse);
        assert_eq!(stop_reason("max_tokens"), StopReason::MaxTokens);
        assert_eq!(stop_reason("guardrail_intervened"), StopReason::ContentFiltered);
        assert_eq!(stop_reason("content_filtered"), StopReason::ContentFiltered);

        use aws_sdk_bedrockruntime::types::{
            ContentBlockDeltaEvent, ContentBlockStartEvent, ConverseStreamMetadataEvent, MessageStopEvent, ToolUseBlockDelta,
            ToolUseBlockStart,
        };
        let (sink, mut deltas) = tokio::sync::mpsc::unbounded_channel();
        let mut reply = StreamedReply::default();
        let text = |i: i32, t: &str| {
            ConverseStreamOutput::ContentBlockDelta(
                ContentBlockDeltaEvent::builder().content_block_index(i).delta(ContentBlockDelta::Text(t.into())).build().unwrap(),
            )
        };
        let input = |t: &str| {
            ConverseStreamOutput::ContentBlockDelta(
                ContentBlockDeltaEvent::builder()
                    .content_block_index(1)
                    .delta(ContentBlockDelta::ToolUse(ToolUseBlockDelta::builder().input(t).build().unwrap()))
                    .build()
                    .unwrap(),
            )
        };
        reply.event(text(0, "Let me "), &sink);
        reply.event(text(0, "check."), &sink);
        let start = ToolUseBlockStart::builder().tool_use_id("tu1").name("quote").build().unwrap();
        let start = ContentBlockStartEvent::builder().content_block_index(1).start(ContentBlockStart::ToolUse(start)).build().unwrap();
        reply.event(ConverseStreamOutput::ContentBlockStart(start), &sink);
        reply.event(input("{\"symbol\":"), &sink);
        reply.event(input("\"AAPL\"}"), &sink);
        let stop = MessageStopEvent::builder().stop_reason(aws_sdk_bedrockruntime::types::StopReason::ToolUse).build().unwrap();
        reply.event(ConverseStreamOutput::MessageStop(stop), &sink);
        let tokens =
            aws_sdk_bedrockruntime::types::TokenUsage::builder().input_tokens(12).output_tokens(7).total_tokens(19).build().unwrap();
        reply.event(ConverseStreamOutput::Metadata(ConverseStreamMetadataEvent::builder().usage(tokens).build()), &sink);
        let reply = reply.finish().unwrap();
        let mut streamed = String::new();
        while let Ok(delta) = deltas.try_recv() {
            streamed.push_str(&delta);
        }
        assert_eq!((reply.text.as_str(), streamed.as_str()), ("Let me check.", "Let me check."));
        assert_eq!(reply.tool_calls, [ToolCall { id: "tu1".into(), name: "quote".into(), arguments: j!({"symbol": "AAPL"}) }]);
        assert_eq!((reply.stop, reply.usage), (StopReason::ToolUse, TokenUsage { input_tokens: 12, output_tokens: 7 }));
        assert!(matches!(StreamedReply::default().finish(), Err(ChatError::Malformed(_))));
    }
}
