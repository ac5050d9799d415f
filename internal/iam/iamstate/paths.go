// Package iamstate holds IAM's and STS's records in berth's store: roles,
// users, groups, customer managed policies, access keys and the temporary
// credentials of role sessions. IAM is global: no key names a region.
//
// IAM names are unique in an account regardless of case ("Admins" and
// "admins" are one group) but keep the case they were created with, so a
// key holds the lower-cased name and the record the name as given.
//
//	iam/role/<lower name>              Role
//	iam/user/<lower name>              User
//	iam/group/<lower name>             Group
//	iam/policy/<lower name>            ManagedPolicy (customer managed; AWS
//	                                   managed policies are built in)
//	iam/accesskey/<access key id>      AccessKey (an IAM user's long-term key)
//	iam/session/<access key id>        Session (temporary credentials)
//
// A transaction that writes iam/ keys writes nothing else: the IAM
// directory's caches (iam.Directory) rely on it to tell from the first
// event of a transaction whether it changed IAM.
package iamstate

import "strings"

const (
	Prefix          = "iam/"
	RolePrefix      = "iam/role/"
	UserPrefix      = "iam/user/"
	GroupPrefix     = "iam/group/"
	PolicyPrefix    = "iam/policy/"
	AccessKeyPrefix = "iam/accesskey/"
	SessionPrefix   = "iam/session/"
)

// RoleKey is the key of the role named name.
func RoleKey(name string) string { return RolePrefix + strings.ToLower(name) }

// UserKey is the key of the user named name.
func UserKey(name string) string { return UserPrefix + strings.ToLower(name) }

// GroupKey is the key of the group named name.
func GroupKey(name string) string { return GroupPrefix + strings.ToLower(name) }

// PolicyKey is the key of the customer managed policy named name.
func PolicyKey(name string) string { return PolicyPrefix + strings.ToLower(name) }

// AccessKeyKey is the key of a user's access key.
func AccessKeyKey(id string) string { return AccessKeyPrefix + id }

// SessionKey is the key of a session's temporary credentials.
func SessionKey(accessKeyID string) string { return SessionPrefix + accessKeyID }
