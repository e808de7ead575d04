//! The agent-facing call: one operation on one collection, with JSON (extended JSON accepted)
//! in and relaxed extended JSON out, cut at the call's row and byte caps.

use async_trait::async_trait;
use mongodb::bson::{Bson, Document};
use mongodb::options::UpdateModifications;
use mongodb::{Collection, Cursor};
use serde_json::{Map, Value, json};
use toolkit_core::connector::{CallLimits, Invocation, InvokeOutput, Invoker};
use toolkit_core::{Error, ErrorKind, Result};

use crate::MongoTool;
use crate::config::is_database_name;

/// The arguments a call may carry.
const ARGUMENTS: &[&str] = &[
    "operation",
    "database",
    "collection",
    "filter",
    "projection",
    "sort",
    "skip",
    "limit",
    "pipeline",
    "document",
    "documents",
    "update",
    "upsert",
];

/// What a call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `find`: documents matching `filter`.
    Find,
    /// `aggregate`: the documents `pipeline` yields.
    Aggregate,
    /// `count`: how many documents match `filter`.
    Count,
    /// `insertOne`: adds `document`.
    InsertOne,
    /// `insertMany`: adds `documents`.
    InsertMany,
    /// `updateOne`: applies `update` to the first match of `filter`.
    UpdateOne,
    /// `updateMany`: applies `update` to every match of `filter`.
    UpdateMany,
    /// `deleteOne`: deletes the first match of `filter`.
    DeleteOne,
    /// `deleteMany`: deletes every match of `filter`.
    DeleteMany,
}

impl Operation {
    /// Every operation, by its argument spelling.
    pub const ALL: &'static [(&'static str, Operation)] = &[
        ("find", Operation::Find),
        ("aggregate", Operation::Aggregate),
        ("count", Operation::Count),
        ("insertOne", Operation::InsertOne),
        ("insertMany", Operation::InsertMany),
        ("updateOne", Operation::UpdateOne),
        ("updateMany", Operation::UpdateMany),
        ("deleteOne", Operation::DeleteOne),
        ("deleteMany", Operation::DeleteMany),
    ];

    /// Whether it changes data.
    pub fn is_write(self) -> bool {
        !matches!(self, Operation::Find | Operation::Aggregate | Operation::Count)
    }

    fn parse(name: &str) -> Result<Self> {
        Operation::ALL.iter().find(|(n, _)| *n == name).map(|(_, op)| *op).ok_or_else(|| {
            let names: Vec<&str> = Operation::ALL.iter().map(|(n, _)| *n).collect();
            Error::invalid_input(format!("run `{name}`: not an operation; use one of {}", names.join(", ")))
        })
    }
}

/// The stages a read-only tool refuses anywhere in a pipeline: they write.
const WRITING_STAGES: &[&str] = &["$out", "$merge"];

/// Whether `value` holds a writing stage at any depth (a `$facet` or `$lookup` sub-pipeline too).
fn has_writing_stage(value: &Value) -> Option<&'static str> {
    match value {
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            WRITING_STAGES.iter().find(|s| **s == k.as_str()).copied().or_else(|| has_writing_stage(v))
        }),
        Value::Array(items) => items.iter().find_map(has_writing_stage),
        _ => None,
    }
}

/// Rows kept under the caps.
struct Rows {
    rows: Vec<Value>,
    bytes: usize,
    limits: CallLimits,
    truncated: bool,
}

impl Rows {
    fn new(limits: &CallLimits) -> Self {
        Self { rows: Vec::new(), bytes: 0, limits: *limits, truncated: false }
    }

    /// Adds one document; `false` once a cap leaves it out (and every later one).
    fn push(&mut self, doc: Document) -> bool {
        if self.truncated || self.rows.len() >= self.limits.max_rows {
            self.truncated = true;
            return false;
        }
        let row = Bson::Document(doc).into_relaxed_extjson();
        let size = serde_json::to_string(&row).map_or(0, |s| s.len() + 1);
        if self.bytes.saturating_add(size) > self.limits.max_output_bytes {
            self.truncated = true;
            return false;
        }
        self.bytes += size;
        self.rows.push(row);
        true
    }

    fn into_output(self) -> InvokeOutput {
        let n = self.rows.len();
        let content = json!({"rows": self.rows, "rowCount": n, "truncated": self.truncated});
        let mut metadata = Map::new();
        metadata.insert("rowCount".into(), n.into());
        InvokeOutput { content, truncated: self.truncated, metadata }
    }
}

/// One call's arguments, checked.
struct Call<'a> {
    args: &'a Map<String, Value>,
}

impl Call<'_> {
    fn string(&self, name: &str) -> Result<Option<&str>> {
        match self.args.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
            Some(_) => Err(Error::invalid_input(format!("read `{name}`: it must be a non-empty string"))),
        }
    }

    fn document(&self, name: &str) -> Result<Option<Document>> {
        match self.args.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => to_document(v, name).map(Some),
        }
    }

    fn required_document(&self, name: &str, op: &str) -> Result<Document> {
        self.document(name)?.ok_or_else(|| Error::invalid_input(format!("run {op}: `{name}` is required")))
    }

    fn count(&self, name: &str) -> Result<Option<u64>> {
        match self.args.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| Error::invalid_input(format!("read `{name}`: it must be a whole number of at least 0"))),
        }
    }

    fn documents(&self, name: &str, op: &str) -> Result<Vec<Document>> {
        match self.args.get(name) {
            Some(Value::Array(items)) if !items.is_empty() => {
                items.iter().enumerate().map(|(i, v)| to_document(v, &format!("{name}[{i}]"))).collect()
            }
            _ => Err(Error::invalid_input(format!("run {op}: `{name}` must be a non-empty array of objects"))),
        }
    }
}

/// A JSON object (extended JSON accepted) as a BSON document.
pub(crate) fn to_document(v: &Value, name: &str) -> Result<Document> {
    if !v.is_object() {
        return Err(Error::invalid_input(format!("read `{name}`: it must be a JSON object")));
    }
    match Bson::try_from(v.clone()) {
        Ok(Bson::Document(d)) => Ok(d),
        Ok(_) => Err(Error::invalid_input(format!("read `{name}`: it must be a JSON object, not a single value"))),
        Err(e) => Err(Error::invalid_input(format!("read `{name}`: it is not valid extended JSON")).with_source(e)),
    }
}

#[async_trait]
impl Invoker for MongoTool {
    async fn invoke(&self, call: Invocation) -> Result<InvokeOutput> {
        let result = self.run(&call.arguments, &call.limits).await;
        self.conn.checked(result).await
    }
}

impl MongoTool {
    /// Runs one call's arguments; used by tool calls and session `exec`.
    pub(crate) async fn run(&self, args: &Map<String, Value>, limits: &CallLimits) -> Result<InvokeOutput> {
        if let Some(k) = args.keys().find(|k| !ARGUMENTS.contains(&k.as_str())) {
            return Err(Error::invalid_input(format!(
                "read the arguments: `{k}` is not one; they are {}",
                ARGUMENTS.join(", ")
            )));
        }
        let call = Call { args };
        let op_name =
            call.string("operation")?.ok_or_else(|| Error::invalid_input("read `operation`: it is required"))?;
        let op = Operation::parse(op_name)?;
        if op.is_write() && self.read_only {
            return Err(Error::new(
                ErrorKind::Denied,
                format!("run {op_name}: the tool is read-only; it runs find, aggregate and count"),
            ));
        }
        let collection =
            call.string("collection")?.ok_or_else(|| Error::invalid_input("read `collection`: it is required"))?;
        if collection.starts_with("system.") || collection.contains(['$', '\0']) {
            return Err(Error::invalid_input(format!("read `collection`: `{collection}` is not a collection name")));
        }
        let database = match call.string("database")? {
            Some(d) => d.to_owned(),
            None => self.conn.config.database.clone().ok_or_else(|| {
                Error::invalid_input("read `database`: it is required, as the tool sets no `databaseName`")
            })?,
        };
        if !is_database_name(&database) {
            return Err(Error::invalid_input(format!("read `database`: `{database}` is not a database name")));
        }
        // A tool with a database reaches that database only.
        if let Some(own) = &self.conn.config.database
            && own != &database
        {
            return Err(Error::new(
                ErrorKind::Denied,
                format!("run {op_name} on `{database}`: the tool may reach only the database `{own}`"),
            ));
        }
        let coll: Collection<Document> = self.conn.database(&database).await?.collection(collection);
        let action = format!("run {op_name} on {database}.{collection}");
        let limit = limits.timeout;
        let c = &self.conn;
        let out = match op {
            Operation::Find => {
                let rows = Rows::new(limits);
                let filter = call.document("filter")?.unwrap_or_default();
                // One more than the cap, to tell a full result from a cut one.
                let cap = limits.max_rows as u64 + 1;
                let wanted = call.count("limit")?.map_or(cap, |l| l.min(cap));
                let mut find = coll.find(filter).max_time(limit).limit(i64::try_from(wanted).unwrap_or(i64::MAX));
                if let Some(p) = call.document("projection")? {
                    find = find.projection(p);
                }
                if let Some(s) = call.document("sort")? {
                    find = find.sort(s);
                }
                if let Some(n) = call.count("skip")? {
                    find = find.skip(n);
                }
                let run = async {
                    let cursor = find.await?;
                    drain(cursor, rows).await
                };
                c.within(limit, &action, run).await?.into_output()
            }
            Operation::Aggregate => {
                let pipeline = match args.get("pipeline") {
                    Some(Value::Array(stages)) => stages,
                    _ => return Err(Error::invalid_input("run aggregate: `pipeline` must be an array of stages")),
                };
                if self.read_only
                    && let Some(stage) = has_writing_stage(&args["pipeline"])
                {
                    return Err(Error::new(
                        ErrorKind::Denied,
                        format!("run aggregate: the tool is read-only and `{stage}` writes"),
                    ));
                }
                let stages: Vec<Document> = pipeline
                    .iter()
                    .enumerate()
                    .map(|(i, s)| to_document(s, &format!("pipeline[{i}]")))
                    .collect::<Result<_>>()?;
                let batch = u32::try_from(limits.max_rows + 1).unwrap_or(u32::MAX);
                let run = async {
                    let cursor = coll.aggregate(stages).max_time(limit).batch_size(batch).await?;
                    drain(cursor, Rows::new(limits)).await
                };
                c.within(limit, &action, run).await?.into_output()
            }
            Operation::Count => {
                let filter = call.document("filter")?.unwrap_or_default();
                let n = c.within(limit, &action, coll.count_documents(filter).max_time(limit)).await?;
                InvokeOutput::new(json!({"count": n}))
            }
            Operation::InsertOne => {
                let doc = call.required_document("document", op_name)?;
                let r = c.within(limit, &action, coll.insert_one(doc)).await?;
                InvokeOutput::new(json!({"insertedId": r.inserted_id.into_relaxed_extjson()}))
            }
            Operation::InsertMany => {
                let docs = call.documents("documents", op_name)?;
                let r = c.within(limit, &action, coll.insert_many(docs)).await?;
                let mut ids: Vec<(usize, Bson)> = r.inserted_ids.into_iter().collect();
                ids.sort_by_key(|(i, _)| *i);
                let ids: Vec<Value> = ids.into_iter().map(|(_, id)| id.into_relaxed_extjson()).collect();
                InvokeOutput::new(json!({"insertedCount": ids.len(), "insertedIds": ids}))
            }
            Operation::UpdateOne | Operation::UpdateMany => {
                let filter = call.required_document("filter", op_name)?;
                let update = match args.get("update") {
                    Some(Value::Array(stages)) => UpdateModifications::Pipeline(
                        stages
                            .iter()
                            .enumerate()
                            .map(|(i, s)| to_document(s, &format!("update[{i}]")))
                            .collect::<Result<_>>()?,
                    ),
                    Some(v) => UpdateModifications::Document(to_document(v, "update")?),
                    None => return Err(Error::invalid_input(format!("run {op_name}: `update` is required"))),
                };
                let upsert = args.get("upsert").and_then(Value::as_bool).unwrap_or(false);
                let r = if op == Operation::UpdateOne {
                    c.within(limit, &action, coll.update_one(filter, update).upsert(upsert)).await?
                } else {
                    c.within(limit, &action, coll.update_many(filter, update).upsert(upsert)).await?
                };
                InvokeOutput::new(json!({
                    "matchedCount": r.matched_count,
                    "modifiedCount": r.modified_count,
                    "upsertedId": r.upserted_id.map(Bson::into_relaxed_extjson),
                }))
            }
            Operation::DeleteOne | Operation::DeleteMany => {
                // An explicit `{}` deletes everything; a missing filter is a mistake, not that.
                let filter = call.required_document("filter", op_name)?;
                let r = if op == Operation::DeleteOne {
                    c.within(limit, &action, coll.delete_one(filter)).await?
                } else {
                    c.within(limit, &action, coll.delete_many(filter)).await?
                };
                InvokeOutput::new(json!({"deletedCount": r.deleted_count}))
            }
        };
        Ok(out)
    }
}

/// Reads documents until the cursor ends or a cap is reached; dropping the cursor kills it.
async fn drain(mut cursor: Cursor<Document>, mut rows: Rows) -> mongodb::error::Result<Rows> {
    while cursor.advance().await? {
        let doc = cursor.deserialize_current()?;
        if !rows.push(doc) {
            break;
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_writing_stages_at_any_depth() {
        let p = json!([{"$match": {}}, {"$facet": {"a": [{"$merge": {"into": "x"}}]}}]);
        assert_eq!(has_writing_stage(&p), Some("$merge"));
        assert_eq!(has_writing_stage(&json!([{"$out": "x"}])), Some("$out"));
        assert_eq!(has_writing_stage(&json!([{"$project": {"a": {"$mergeObjects": ["$b"]}}}])), None);
    }

    #[test]
    fn reads_extended_json() {
        let d =
            to_document(&json!({"_id": {"$oid": "5f1a2b3c4d5e6f7a8b9c0d1e"}, "n": {"$numberLong": "7"}}), "f").unwrap();
        assert!(matches!(d.get("_id"), Some(Bson::ObjectId(_))));
        assert_eq!(d.get("n"), Some(&Bson::Int64(7)));
        assert_eq!(to_document(&json!([1]), "f").unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn caps_rows_and_bytes() {
        let limits = CallLimits { max_rows: 2, max_output_bytes: 40, ..CallLimits::default() };
        let mut rows = Rows::new(&limits);
        assert!(rows.push(mongodb::bson::doc! {"a": 1}));
        assert!(!rows.push(mongodb::bson::doc! {"a": "a long string that is past the byte cap"}));
        assert!(!rows.push(mongodb::bson::doc! {"a": 2}));
        let out = rows.into_output();
        assert!(out.truncated);
        assert_eq!(out.content["rows"], json!([{"a": 1}]));
    }
}
