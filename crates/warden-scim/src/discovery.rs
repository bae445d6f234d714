//! What a SCIM client asks before it provisions (RFC 7644 4): the features Warden supports,
//! its one resource type, and the User schema's attributes as Warden keeps them.

use serde_json::{json, Value};

use crate::resource::USER_SCHEMA;
use crate::{LIST_SCHEMA, MAX_RESULTS};

const CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [CONFIG_SCHEMA],
        "documentationUri": "https://github.com/warden/warden/blob/main/docs/scim.md",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": false},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A Warden client token with the scim scope (warden client create --scope scim)",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A Warden account",
        "schema": USER_SCHEMA,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
    })
}

pub fn resource_types(base: &str) -> Value {
    list(vec![user_resource_type(base)])
}

fn attribute(name: &str, kind: &str, required: bool, mutability: &str, uniqueness: &str) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "required": required,
        "caseExact": false,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    })
}

fn user_schema(base: &str) -> Value {
    let mut name = attribute("name", "complex", false, "readWrite", "none");
    name["subAttributes"] = json!([
        attribute("givenName", "string", false, "readWrite", "none"),
        attribute("familyName", "string", false, "readWrite", "none"),
    ]);
    let mut emails = attribute("emails", "complex", false, "readOnly", "none");
    emails["multiValued"] = json!(true);
    emails["description"] = json!("The userName again, as the primary work email");
    emails["subAttributes"] = json!([
        attribute("value", "string", false, "readOnly", "none"),
        attribute("type", "string", false, "readOnly", "none"),
        attribute("primary", "boolean", false, "readOnly", "none"),
    ]);
    let mut user_name = attribute("userName", "string", true, "readWrite", "server");
    user_name["description"] = json!("The account's email address, unique without regard to case");
    let mut external_id = attribute("externalId", "string", false, "readWrite", "none");
    external_id["caseExact"] = json!(true);
    let mut display_name = attribute("displayName", "string", false, "readOnly", "none");
    display_name["description"] = json!("givenName and familyName, or the userName");
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A Warden account",
        "attributes": [
            user_name,
            name,
            display_name,
            emails,
            attribute("active", "boolean", false, "readWrite", "none"),
            external_id,
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")},
    })
}

pub fn schemas(base: &str) -> Value {
    list(vec![user_schema(base)])
}

/// A whole `ListResponse` of `resources`.
pub fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
