//! What a SCIM client asks before it provisions (RFC 7644 4): the features Warden supports,
//! its one resource type, and the User schema's attributes as Warden keeps them. Every resource
//! a list names is also served by its id (`/ResourceTypes/User`, `/Schemas/<urn>`).

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
        "etag": {"supported": true},
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

/// The resource type whose id is `id` (in any case), if Warden has it.
pub fn resource_type(base: &str, id: &str) -> Option<Value> {
    id.eq_ignore_ascii_case("User")
        .then(|| user_resource_type(base))
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
    // Required: an account is active or not, so removing `active` is refused (`mutability`);
    // a User created without it is active.
    let mut active = attribute("active", "boolean", true, "readWrite", "none");
    active["description"] = json!("Whether the account may sign in; false deactivates it");
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
            active,
            external_id,
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")},
    })
}

pub fn schemas(base: &str) -> Value {
    list(vec![user_schema(base)])
}

/// The schema whose id (its URN, in any case) is `id`, if Warden has it.
pub fn schema(base: &str, id: &str) -> Option<Value> {
    id.eq_ignore_ascii_case(USER_SCHEMA)
        .then(|| user_schema(base))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_resource_is_found_by_its_id_and_its_location_names_it() {
        let base = "https://id.example.com/scim/v2";
        for (listed, by_id) in [
            (
                resource_types(base),
                resource_type as fn(&str, &str) -> Option<Value>,
            ),
            (schemas(base), schema),
        ] {
            for resource in listed["Resources"].as_array().unwrap() {
                let id = resource["id"].as_str().unwrap();
                let location = resource["meta"]["location"].as_str().unwrap();
                assert!(location.ends_with(&format!("/{id}")), "{location}");
                assert_eq!(by_id(base, id).as_ref(), Some(resource));
                assert_eq!(by_id(base, &id.to_uppercase()).as_ref(), Some(resource));
            }
            assert_eq!(by_id(base, "Group"), None);
        }
    }
}
