import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { PayloadSchemas } from '../../../lib/asyncapi/payload-schemas.js';

// The conversion of payload DTOs: class-validator-jsonschema does it; these tests pin what the
// document relies on — a $ref per class, the nested classes it reaches, nothing else, and a
// refusal where its class-name keys would mix two classes up.

class Tag {
  @IsString()
  @Length(1, 20)
  label!: string;
}

class Author {
  @IsString()
  name!: string;
}

class PostDto {
  @IsString()
  @Length(1, 200)
  title!: string;

  @IsIn(['draft', 'published'])
  state!: string;

  @IsInt()
  @Min(0)
  @Max(5)
  stars!: number;

  @IsOptional()
  @IsBoolean()
  pinned?: boolean;

  @ValidateNested()
  @Type(() => Author)
  author!: Author;

  @IsArray()
  @ArrayMaxSize(3)
  @ValidateNested({ each: true })
  @Type(() => Tag)
  tags!: Tag[];
}

class NoMetadata {
  field!: string;
}

class Unrelated {
  @IsString()
  other!: string;
}

describe('PayloadSchemas', () => {
  it('gives a DTO as a $ref, and its schema from the class-validator decorators', () => {
    const schemas = new PayloadSchemas();
    expect(schemas.of(PostDto)).toEqual({ $ref: '#/components/schemas/PostDto' });
    const post = schemas.components().PostDto!;
    expect(post.type).toBe('object');
    expect(post.required).toEqual(['title', 'state', 'stars', 'author', 'tags']);
    expect(post.properties).toMatchObject({
      title: { type: 'string', minLength: 1, maxLength: 200 },
      state: { type: 'string', enum: ['draft', 'published'] },
      stars: { type: 'integer', minimum: 0, maximum: 5 },
      pinned: { type: 'boolean' },
      author: { $ref: '#/components/schemas/Author' },
      tags: { type: 'array', maxItems: 3, items: { $ref: '#/components/schemas/Tag' } },
    });
  });

  it('holds the classes used and the nested classes they reference, and no other class', () => {
    const schemas = new PayloadSchemas();
    schemas.of(PostDto);
    expect(Object.keys(schemas.components())).toEqual(['Author', 'PostDto', 'Tag']);
    expect(schemas.components().Tag).toEqual({
      type: 'object',
      properties: { label: { type: 'string', minLength: 1, maxLength: 20 } },
      required: ['label'],
    });
    expect(Object.keys(schemas.components())).not.toContain(Unrelated.name);
  });

  it('says nothing for types that say nothing, and gives primitives their JSON type', () => {
    const schemas = new PayloadSchemas();
    expect(schemas.of(undefined)).toBeUndefined();
    expect(schemas.of(Object)).toBeUndefined();
    expect(schemas.of(Promise)).toBeUndefined();
    expect(schemas.of(String)).toEqual({ type: 'string' });
    expect(schemas.of(Number)).toEqual({ type: 'number' });
    expect(schemas.of(Boolean)).toEqual({ type: 'boolean' });
    expect(schemas.of(NoMetadata)).toEqual({ type: 'object', title: 'NoMetadata' });
    expect(schemas.components()).toEqual({});
  });

  it('reads a return type only when it is a primitive or a DTO', () => {
    const schemas = new PayloadSchemas();
    expect(schemas.ofReturnType(Promise)).toBeUndefined();
    expect(schemas.ofReturnType(NoMetadata)).toBeUndefined();
    expect(schemas.ofReturnType(undefined)).toBeUndefined();
    expect(schemas.ofReturnType(String)).toEqual({ type: 'string' });
    expect(schemas.ofReturnType(Author)).toEqual({ $ref: '#/components/schemas/Author' });
  });

  it('refuses two different classes of one name, which would share one schema', () => {
    const first = (() => {
      class Clash {
        @IsString()
        a!: string;
      }
      return Clash;
    })();
    const second = (() => {
      class Clash {
        @IsInt()
        b!: number;
      }
      return Clash;
    })();
    const schemas = new PayloadSchemas();
    expect(() => {
      schemas.of(first);
      schemas.of(second);
    }).toThrow('two different classes named Clash carry class-validator metadata');
  });
});
