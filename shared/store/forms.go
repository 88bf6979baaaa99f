package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/kehu-dev/kehu/shared/form"
)

// Forms share one partition so they can be listed with a Query.
const formPK = "FORM"

type formItem struct {
	PK         string    `dynamodbav:"pk"`
	SK         string    `dynamodbav:"sk"`
	Entity     string    `dynamodbav:"entity"`
	Definition string    `dynamodbav:"definition"`
	UpdatedAt  time.Time `dynamodbav:"updated_at"`
}

// PutForm stores a definition (the JSON document it was parsed from).
func (s *Store) PutForm(ctx context.Context, def *form.Definition, doc []byte, now time.Time) error {
	return s.putDefinition(ctx, formPK, def, doc, now)
}

// Form returns a form definition, or ErrNotFound.
func (s *Store) Form(ctx context.Context, id string) (*form.Definition, error) {
	return s.definition(ctx, formPK, id, form.Parse)
}

// Forms lists every form definition.
func (s *Store) Forms(ctx context.Context) ([]*form.Definition, error) {
	return s.definitions(ctx, formPK, form.Parse)
}

// Surveys (kehu's own update surveys) are definitions like forms, in a
// partition of their own: no form post can answer one.
const surveyPK = "SURVEY"

// PutSurvey stores a survey definition (the JSON document it was parsed from).
func (s *Store) PutSurvey(ctx context.Context, def *form.Definition, doc []byte, now time.Time) error {
	return s.putDefinition(ctx, surveyPK, def, doc, now)
}

// Survey returns a survey definition, or ErrNotFound.
func (s *Store) Survey(ctx context.Context, id string) (*form.Definition, error) {
	return s.definition(ctx, surveyPK, id, form.ParseSurvey)
}

// Surveys lists every survey definition.
func (s *Store) Surveys(ctx context.Context) ([]*form.Definition, error) {
	return s.definitions(ctx, surveyPK, form.ParseSurvey)
}

func (s *Store) putDefinition(ctx context.Context, pk string, def *form.Definition, doc []byte, now time.Time) error {
	item, err := attributevalue.MarshalMap(formItem{PK: pk, SK: def.ID, Entity: strings.ToLower(pk), Definition: string(doc), UpdatedAt: now.UTC()})
	if err != nil {
		return err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return fmt.Errorf("put %s %s: %w", strings.ToLower(pk), def.ID, classify(err))
	}
	return nil
}

func (s *Store) definition(ctx context.Context, pk, id string, parse func([]byte) (*form.Definition, error)) (*form.Definition, error) {
	var it formItem
	if err := s.get(ctx, pk, id, &it); err != nil {
		return nil, err
	}
	return parse([]byte(it.Definition))
}

func (s *Store) definitions(ctx context.Context, pk string, parse func([]byte) (*form.Definition, error)) ([]*form.Definition, error) {
	items, err := queryAll[formItem](ctx, s, expression.Key(PK).Equal(expression.Value(pk)), "list "+strings.ToLower(pk))
	if err != nil {
		return nil, err
	}
	out := make([]*form.Definition, 0, len(items))
	for _, it := range items {
		def, err := parse([]byte(it.Definition))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", strings.ToLower(pk), it.SK, err)
		}
		out = append(out, def)
	}
	return out, nil
}

const (
	configPK     = "CONFIG"
	blindIndexSK = "BLIND_INDEX_SECRET"
	intakeKeysSK = "INTAKE_KEYS"
	linkSecretSK = "LINK_SECRET"
)

type secretItem struct {
	PK        string    `dynamodbav:"pk"`
	SK        string    `dynamodbav:"sk"`
	Entity    string    `dynamodbav:"entity"`
	Wrapped   []byte    `dynamodbav:"wrapped"`
	KeyID     string    `dynamodbav:"key_id"`
	CreatedAt time.Time `dynamodbav:"created_at"`
}

// BlindIndexSecret returns the KMS-wrapped blind-index secret, or ErrNotFound.
func (s *Store) BlindIndexSecret(ctx context.Context) ([]byte, error) {
	var it secretItem
	if err := s.get(ctx, configPK, blindIndexSK, &it); err != nil {
		return nil, err
	}
	return it.Wrapped, nil
}

// PutBlindIndexSecret stores the wrapped secret once; it never replaces an
// existing one (that would orphan every index entry): ErrConflict then.
func (s *Store) PutBlindIndexSecret(ctx context.Context, wrapped []byte, keyID string, now time.Time) error {
	return s.putSecret(ctx, blindIndexSK, wrapped, keyID, now)
}

func (s *Store) putSecret(ctx context.Context, sk string, wrapped []byte, keyID string, now time.Time) error {
	item, err := attributevalue.MarshalMap(secretItem{PK: configPK, SK: sk, Entity: "config", Wrapped: wrapped, KeyID: keyID, CreatedAt: now.UTC()})
	if err != nil {
		return err
	}
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(PK))).Build()
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item,
		ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names()})
	if err != nil {
		return fmt.Errorf("put %s: %w", sk, classify(err))
	}
	return nil
}

// IntakeKeys returns the KMS-wrapped intake keys, or ErrNotFound.
func (s *Store) IntakeKeys(ctx context.Context) ([]byte, error) {
	var it secretItem
	if err := s.get(ctx, configPK, intakeKeysSK, &it); err != nil {
		return nil, err
	}
	return it.Wrapped, nil
}

// PutIntakeKeys stores the wrapped intake keys once; ErrConflict if there.
func (s *Store) PutIntakeKeys(ctx context.Context, wrapped []byte, keyID string, now time.Time) error {
	return s.putSecret(ctx, intakeKeysSK, wrapped, keyID, now)
}

// LinkSecret returns the KMS-wrapped link-signing secret, or ErrNotFound.
func (s *Store) LinkSecret(ctx context.Context) ([]byte, error) {
	var it secretItem
	if err := s.get(ctx, configPK, linkSecretSK, &it); err != nil {
		return nil, err
	}
	return it.Wrapped, nil
}

// PutLinkSecret stores the wrapped link secret once; ErrConflict if there.
func (s *Store) PutLinkSecret(ctx context.Context, wrapped []byte, keyID string, now time.Time) error {
	return s.putSecret(ctx, linkSecretSK, wrapped, keyID, now)
}
