"""The JSON API (v1): statistics, indicators, DHIS2 export, and its OpenAPI document."""
